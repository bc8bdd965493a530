// 1,000 idle or half-sent connections on the router of `sluice up`: other clients are served all
// along, and the router closes each of those connections once its header timeout has passed.
import { connect, type Socket } from "node:net";
import t from "tap";
import { appService } from "../helpers/autoscaler.ts";
import { describe, figures, startLoad } from "../helpers/load.ts";
import { waitFor } from "../helpers/processes.ts";
import { startSluiceUp } from "../helpers/sluice-up.ts";

const SLOW = 1000;
// Long enough to open the 1,000 connections and serve 500 other requests inside it, with room to
// spare on a slow machine: the test shows those requests served while every slow one is held.
const HEADERS_TIMEOUT_SECONDS = 8;
/**
 * A close this much before the timeout is a bug, not scheduling noise. Time held is counted from
 * the connect call, since the router cannot start its clock before it: the connect events of 1,000
 * sockets reach this process seconds late on a loaded machine.
 */
const EARLY_SLACK_MS = 500;
/** Generous: the router closes late connections on its own check interval, on a busy machine. */
const LATE_BOUND_MS = 20_000;

const WARM = appService("warm", {
  containerConcurrency: 10,
  annotations: ['autoscaling.knative.dev/min-scale: "1"', 'autoscaling.knative.dev/initial-scale: "1"'],
});

interface Slow {
  socket: Socket;
  /** When connect() was called, in ms from the start. */
  openedAt: number;
  closedAt: number | undefined;
  answer: string;
}

t.test("1,000 idle or half-sent connections: others served, each closed at the header timeout", async (t) => {
  const up = await startSluiceUp(t, [WARM], {
    ROUTER_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_SECONDS),
  });
  await up.waitForEndpoints("warm-00001", 1);

  const started = performance.now();
  const slow: Slow[] = [];
  t.teardown(() => {
    for (const s of slow) s.socket.destroy();
  });
  await Promise.all(
    Array.from(
      { length: SLOW },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const openedAt = performance.now() - started;
          const socket = connect({ host: "127.0.0.1", port: up.routerPort });
          const entry: Slow = { socket, openedAt, closedAt: undefined, answer: "" };
          let connected = false;
          slow.push(entry);
          socket.on("connect", () => {
            connected = true;
            // Half of them say nothing; the other half send part of a request head and stall.
            if (i % 2 === 1) socket.write("GET / HTTP/1.1\r\nHost: warm.default.example.com\r\nX-Slow: ");
            resolve();
          });
          socket.on("data", (chunk) => {
            entry.answer += chunk;
          });
          socket.on("close", () => {
            entry.closedAt = performance.now() - started;
          });
          socket.on("error", (error) => {
            if (!connected) reject(error);
          });
        }),
    ),
  );
  t.comment(`${SLOW} slow connections open after ${Math.round(performance.now() - started)} ms`);

  // Meanwhile, other clients: 10 at a time, until 500 answers.
  const load = startLoad({
    url: up.routerUrl,
    host: "warm.default.example.com",
    concurrency: 10,
    maxRequests: 500,
  });
  await waitFor("500 answers to other clients", () => load.outcomes.length >= 500, { timeoutMs: 30_000 });
  const openWhileServed = slow.filter((s) => s.closedAt === undefined).length;
  const others = figures(await load.stop());
  t.comment(
    describe("other clients meanwhile", others, `${openWhileServed} slow connections still open at the end`),
  );
  t.equal(others.failed, 0, "every other client is served");
  t.equal(openWhileServed, SLOW, "every slow connection is still held open while the 500 are served");

  await waitFor(
    "the router to close every slow connection",
    () => slow.every((s) => s.closedAt !== undefined),
    {
      timeoutMs: HEADERS_TIMEOUT_SECONDS * 1000 + LATE_BOUND_MS,
      everyMs: 100,
    },
  );
  const held = slow.map((s) => (s.closedAt as number) - s.openedAt).sort((a, b) => a - b);
  const answers = new Map<string, number>();
  for (const s of slow) {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(s.answer)?.[1] ?? "closed without an answer";
    answers.set(status, (answers.get(status) ?? 0) + 1);
  }
  t.comment(
    `held open for ${Math.round(held[0])}–${Math.round(held.at(-1) as number)} ms (median ${Math.round(held[held.length >> 1])}); ` +
      `header timeout ${HEADERS_TIMEOUT_SECONDS * 1000} ms; answers ${JSON.stringify(Object.fromEntries(answers))}`,
  );
  t.equal(held.length, SLOW, `all ${SLOW} closed by the router`);
  t.ok(
    held[0] >= HEADERS_TIMEOUT_SECONDS * 1000 - EARLY_SLACK_MS,
    `none before the header timeout: the first after ${Math.round(held[0])} ms`,
  );
  t.ok((held.at(-1) as number) <= HEADERS_TIMEOUT_SECONDS * 1000 + LATE_BOUND_MS, "none held far beyond it");
  t.ok(
    slow.every((s) => s.answer === "" || /^HTTP\/1\.1 408 /.test(s.answer)),
    "each is closed, at most with a 408",
  );
});
