// The eventing bench's subscriber (bench/eventing.ts), run by `sluice up` as a Service's container:
// it answers every event 202 and counts it by `ce-id` when it answers (delivered = answered), so
// the bench can check that every event arrived and how many came twice. A gate holds answers
// while closed: a subscriber that is not answering, behind which events queue in the Broker.
// Control and figures under /__bench/ (through the router, like the events):
//   GET  /__bench/stats          {answered, unique, duplicates, noId, held, firstAt, lastAt}
//   POST /__bench/reset          forget every id (between measurements)
//   POST /__bench/gate?open=0|1  close / open the gate (opening answers what was held)
import { createServer, type ServerResponse } from "node:http";

const seen = new Map<string, number>();
let answered = 0;
let noId = 0;
/** Epoch ms of the first and last answer since the reset: the bench's clock is the same machine's. */
let firstAt = 0;
let lastAt = 0;
let gateOpen = true;
let held: (() => void)[] = [];

const EMPTY = { "content-length": "0" };

function answer(id: string | undefined, res: ServerResponse): void {
  if (res.destroyed) return; // the sender gave up while it was held: not delivered, not counted
  if (id === undefined) noId++;
  else seen.set(id, (seen.get(id) ?? 0) + 1);
  answered++;
  lastAt = Date.now();
  if (firstAt === 0) firstAt = lastAt;
  res.writeHead(202, EMPTY).end();
}

function json(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  if (url.startsWith("/__bench/")) {
    req.resume();
    if (url === "/__bench/stats")
      return json(res, {
        answered,
        unique: seen.size,
        duplicates: answered - noId - seen.size,
        noId,
        held: held.length,
        firstAt,
        lastAt,
      });
    if (url === "/__bench/reset" && req.method === "POST") {
      seen.clear();
      answered = noId = firstAt = lastAt = 0;
      return json(res, { ok: true });
    }
    if (url.startsWith("/__bench/gate?open=") && req.method === "POST") {
      gateOpen = url.endsWith("=1");
      if (gateOpen) {
        const waiting = held;
        held = [];
        for (const release of waiting) release();
      }
      return json(res, { ok: true, open: gateOpen });
    }
    res.writeHead(404, EMPTY).end();
    return;
  }
  const header = req.headers["ce-id"];
  const id = typeof header === "string" ? header : undefined;
  req.resume();
  req.once("end", () => {
    if (gateOpen) answer(id, res);
    else held.push(() => answer(id, res));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
