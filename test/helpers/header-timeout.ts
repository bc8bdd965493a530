// Every listener closes, without a word, a connection that has not sent its request head by the
// header timeout: one that says nothing, and one stuck inside the HTTP/2 preface.
import type { Test } from "tap";
import { openSocket } from "./raw-http.ts";
import { untilClosed } from "./upgrade-app.ts";

/** That subtest, against the listener on `port`; `partialPreface` is the start of the preface sent. */
export function headerTimeoutTest(t: Test, port: number, partialPreface: string): void {
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
}
