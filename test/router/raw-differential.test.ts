// The differential test of the two HTTP/1.1 data paths, for each hop that runs them (router,
// queue-proxy, activator): one corpus of requests (sizes, lengths and chunks both ways,
// pipelining, HEAD, 204/304, 100-continue, trailers, HTTP/1.0, early closes) sent byte for byte
// through the hop on the raw path and through the same hop on the node:http path, in front of the
// same app. The client must get the same bytes from both (the Date values aside), and the app must
// see the same requests: method, target, version, raw headers, body, trailers, completeness.
// (Chunk boundaries of a re-chunked body are the one thing left free: they are framing, not data.)
import { connect } from "node:net";
import t from "tap";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startProcess, TEST_HOP_SECRET, waitFor } from "../helpers/processes.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";
import { type Seen, startDifferentialApp } from "./differential-app.ts";

const HOST = "diff.default.example.com";

interface Case {
  name: string;
  /** Written in order; "100" waits for the interim 100 Continue before the next part. */
  parts: string[];
  /** The client closes its side after the last part (an early close), instead of waiting. */
  clientCloses?: boolean;
  /**
   * node:http dispatches pipelined requests at once (answering in order), the raw path one after
   * the other: the app sees the same requests, in an order that is not the client's to know.
   */
  anyOrder?: boolean;
  /** Where node:http's path is known to fall short and the raw path must do better: why. */
  nodeFallsShort?: string;
}

const req = (target: string, extra = "", version = "1.1") =>
  `${target.startsWith("HEAD") || target.startsWith("POST") || target.startsWith("PUT") ? target : `GET ${target}`} HTTP/${version}\r\nHost: ${HOST}\r\n${extra}\r\n`;
const close = "Connection: close\r\n";
const big = "b".repeat(200_000);
/** Bytes 0–255, 16 times (parts are written as latin1: one byte per character). */
const everyByte = Array.from({ length: 4096 }, (_, i) => String.fromCharCode(i % 256)).join("");

const cases: Case[] = [
  { name: "small", parts: [req("/d/len/10", close)] },
  { name: "empty", parts: [req("/d/len/0", close)] },
  { name: "large", parts: [req("/d/len/300000", close)] },
  { name: "chunked response", parts: [req("/d/chunked/3", close)] },
  { name: "length upload", parts: [`${req("POST /d/echo", `Content-Length: 5\r\n${close}`)}hello`] },
  { name: "empty upload", parts: [req("POST /d/echo", `Content-Length: 0\r\n${close}`)] },
  {
    name: "chunked upload",
    parts: [
      req("POST /d/echo", `Transfer-Encoding: chunked\r\n${close}`) +
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ],
  },
  {
    name: "chunked upload with trailers",
    parts: [`${req("POST /d/echo", `Transfer-Encoding: chunked\r\n${close}`)}2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n`],
  },
  { name: "large upload", parts: [req("PUT /d/echo", `Content-Length: ${big.length}\r\n${close}`) + big] },
  {
    // Under 16 KB each way, where the raw path joins head and body as one latin1 string.
    name: "every byte value, both ways",
    parts: [req("POST /d/echo", `Content-Length: ${everyByte.length}\r\n${close}`) + everyByte],
  },
  {
    name: "pipelined",
    parts: [
      req("/d/len/5") +
        req("POST /d/echo", "Content-Length: 3\r\n") +
        "abc" +
        req("/d/chunked/2") +
        req("HEAD /d/len/7") +
        req("/d/status/204") +
        req("/d/len/1", close),
    ],
    anyOrder: true,
  },
  { name: "HEAD", parts: [req("HEAD /d/len/100", close)] },
  { name: "HEAD of a chunked response", parts: [req("HEAD /d/chunked/2", close)] },
  { name: "204", parts: [req("/d/status/204", close)] },
  { name: "304", parts: [req("/d/status/304", close)] },
  {
    name: "100-continue",
    parts: [req("POST /d/echo", `Content-Length: 4\r\nExpect: 100-continue\r\n${close}`), "100", "body"],
  },
  {
    name: "100-continue in a list",
    parts: [req("POST /d/echo", `Content-Length: 4\r\nExpect: 100-continue, x\r\n${close}`), "100", "body"],
  },
  {
    name: "100-continue in a second Expect",
    parts: [
      req("POST /d/echo", `Content-Length: 4\r\nExpect: x\r\nExpect: 100-continue\r\n${close}`),
      "100",
      "body",
    ],
  },
  {
    name: "unknown expectation",
    parts: [req("POST /d/echo", `Content-Length: 0\r\nExpect: teapot\r\n${close}`)],
  },
  {
    name: "100-continue as part of a token",
    parts: [req("POST /d/echo", `Content-Length: 0\r\nExpect: x100-continue\r\n${close}`)],
  },
  { name: "trailers", parts: [req("/d/trailers", close)] },
  { name: "HTTP/1.0", parts: [req("/d/len/5", "", "1.0")] },
  { name: "HTTP/1.0 chunked response", parts: [req("/d/chunked/2", "", "1.0")] },
  {
    name: "HTTP/1.0 keep-alive",
    parts: [req("/d/len/3", "Connection: keep-alive\r\n", "1.0") + req("/d/len/2", "", "1.0")],
  },
  { name: "close-delimited response", parts: [req("/d/close", close)] },
  {
    name: "early hints",
    parts: [req("/d/hints", close)],
    nodeFallsShort: "with a 103 first, node:http + undici close the connection without an answer",
  },
  { name: "repeated response headers", parts: [req("/d/cookies", close)] },
  {
    name: "Connection-listed headers",
    parts: [
      req("/d/len/1", "Connection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"),
    ],
  },
  { name: "app cuts the body", parts: [req("/d/cut", close)] },
  {
    name: "client closes mid-body",
    parts: [`${req("POST /d/echo", "Content-Length: 100\r\n")}only ten.`],
    clientCloses: true,
  },
];

/** Sends the parts; resolves with everything received until the server closes (or we do). */
function exchange(port: number, c: Case): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    let waiting: (() => void) | undefined;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (waiting && received.includes("100 Continue\r\n\r\n")) waiting();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", () => socket.destroy());
    socket.on("connect", async () => {
      for (const part of c.parts) {
        if (part === "100") {
          await new Promise<void>((done) => {
            waiting = done;
            if (received.includes("100 Continue\r\n\r\n")) done();
          });
          continue;
        }
        socket.write(Buffer.from(part, "latin1"));
      }
      if (c.clientCloses) setTimeout(() => socket.destroy(), 200).unref();
    });
  });
}

const normalize = (text: string) => text.replace(/\r\n(date): [^\r]*/gi, "\r\n$1: (now)");
const marked = (c: Case, tag: string, i: number, extraHeaders: string) =>
  c.parts.map((part) =>
    part
      .replace(/ (\/d\/[^ ]*) HTTP/g, ` $1?case=${i}&path=${tag} HTTP`)
      .replaceAll(`Host: ${HOST}\r\n`, `Host: ${HOST}\r\n${extraHeaders}`),
  );
const unmark = (seen: Seen) => ({ ...seen, url: seen.url.replace(/\?case=.*$/, "") });

type Hop = "router" | "queue-proxy" | "activator";
const HOPS: Hop[] = ["router", "queue-proxy", "activator"];

for (const hop of HOPS) {
  t.test(`${hop}: the raw path and node:http give the client and the app the same bytes`, async (t) => {
    const app = await startDifferentialApp();
    t.teardown(app.close);
    const revision = "diff-00001";
    const endpoints = [{ pod: "p", url: `http://127.0.0.1:${app.port}` }];
    const fake = await startFakeAutoscaler(
      t,
      stateOf(
        [serviceState("diff", [{ revision, percent: 100 }])],
        [revisionState(revision, "diff", { endpoints, mode: hop === "activator" ? "proxy" : "serve" })],
      ),
    );
    // What a request to the activator carries from the router: the revision, and the hop secret.
    const extra =
      hop === "activator"
        ? `Sluice-Revision: default/${revision}\r\nSluice-Hop-Auth: ${TEST_HOP_SECRET}\r\n`
        : "";
    const start = async (path: "raw" | "node"): Promise<number> => {
      if (hop === "router") {
        const router = await startRouter(t, fake.url, { SLUICE_DATA_PATH: path });
        t.equal(router.message.dataPath, path);
        return router.port;
      }
      if (hop === "queue-proxy") {
        const qp = await startQueueProxy(t, app.port, { SLUICE_DATA_PATH: path });
        return Number(new URL(qp.url).port);
      }
      const activator = await startProcess(t, "activator/main.ts", {
        ACTIVATOR_PORT: "0",
        ACTIVATOR_ADMIN_PORT: "0",
        AUTOSCALER_URL: fake.url,
        SLUICE_DATA_PATH: path,
      });
      t.equal(activator.message.dataPath, path);
      // Listening comes before the state watch's first snapshot: ready once the revision is known.
      const admin = `http://127.0.0.1:${activator.message.adminPort}/readyz`;
      await waitFor("activator ready", async () => (await fetch(admin)).status === 200);
      return activator.message.port as number;
    };
    const ports = { raw: await start("raw"), node: await start("node") };

    for (const [i, c] of cases.entries()) {
      const got: Record<string, { client: string; app: Seen[] }> = {};
      for (const path of ["raw", "node"] as const) {
        const mine = (s: Seen) => s.url.includes(`?case=${i}&path=${path}`);
        const client = await exchange(ports[path], { ...c, parts: marked(c, path, i, extra) });
        if (c.clientCloses) await waitFor(`${c.name}: the app saw the request`, () => app.seen.some(mine));
        got[path] = { client: normalize(client), app: app.seen.filter(mine).map(unmark) };
      }
      if (c.nodeFallsShort) {
        t.match(
          got.raw.client,
          /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/,
          `${c.name}: the raw path answers`,
        );
        t.comment(`${c.name}: node:http's path differs (${c.nodeFallsShort})`);
        continue;
      }
      const order = (seen: Seen[]) =>
        c.anyOrder
          ? [...seen].sort((a, b) => `${a.method} ${a.url}`.localeCompare(`${b.method} ${b.url}`))
          : seen;
      t.equal(got.raw.client, got.node.client, `${c.name}: the client gets the same bytes`);
      t.same(order(got.raw.app), order(got.node.app), `${c.name}: the app sees the same requests`);
    }
  });
}
