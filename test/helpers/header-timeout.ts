// Every listener closes, without a word, a connection that has not sent its request head by the
// header timeout: one that says nothing, and one stuck inside the HTTP/2 preface. An HTTP/2
// session that sends its preface and SETTINGS and then opens no stream is closed at the same
// timeout (with a GOAWAY), not held for the session idle timeout.
import type { Test } from "tap";
import { openSocket } from "./raw-http.ts";
import { untilClosed } from "./upgrade-app.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: length 0, type 0x4, no flags, stream 0. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
/** A close this much earlier than the timeout is a bug, not scheduling noise. */
const EARLY_SLACK_MS = 250;

/**
 * Those subtests, against the listener on `port` with a header timeout of `headersTimeoutMs`;
 * `partialPreface` is the start of the preface sent.
 */
export function headerTimeoutTest(
  t: Test,
  port: number,
  partialPreface: string,
  headersTimeoutMs: number,
): void {
  t.test(
    "a silent connection, and one stuck in the HTTP/2 preface, are closed at the header timeout",
    async (t) => {
      const silent = await openSocket(port);
      t.equal(await untilClosed(silent), "");
      const half = await openSocket(port);
      half.write(partialPreface);
      t.equal(await untilClosed(half), "");
    },
  );
  const timeout = headersTimeoutMs + 5000;
  t.test("an HTTP/2 session that opens no stream is closed at the header timeout", { timeout }, async (t) => {
    const socket = await openSocket(port);
    const started = performance.now();
    socket.setEncoding("latin1");
    socket.write(Buffer.concat([Buffer.from(PREFACE), EMPTY_SETTINGS]));
    // The session idle timeout (60 s by default) is far beyond this test's own timeout.
    const received = await untilClosed(socket);
    const after = performance.now() - started;
    t.ok(
      after >= headersTimeoutMs - EARLY_SLACK_MS,
      `closed after ${Math.round(after)} ms, not before the timeout`,
    );
    t.ok(received.includes("\x07"), "after the server's SETTINGS, a GOAWAY frame (type 7)");
  });
}
