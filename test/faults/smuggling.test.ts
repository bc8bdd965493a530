// The request-smuggling corpus (smuggling-corpus.json) as raw bytes against each hop that parses
// client bytes — router, activator, queue-proxy — each started on its own in front of an app that
// records every byte and request it gets. Every malformed case must be refused (400, or closed
// with no response) and the app must never see anything but whole, well-framed requests: no
// request of a refused case completes there, and nothing smuggled behind one arrives at all.
import { appendFileSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import t, { type Test } from "tap";
import { request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { type Started, startProcess, waitFor } from "../helpers/processes.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";
import type { Recording } from "./recording-app.ts";

interface CorpusCase {
  name: string;
  expect: "reject" | "forward";
  framing?: "head" | "body";
  incomplete?: boolean;
  request: string;
  requests?: number;
  bodies?: string[];
  why: string;
  /** The RFC lets a recipient accept this instead of refusing it (the reason). */
  tolerated?: string;
  /** The refused request is delimited soundly: the one after it may be served on its own. */
  delimited?: string;
}
const corpus = JSON.parse(readFileSync(new URL("./smuggling-corpus.json", import.meta.url), "utf8")) as {
  smuggled: string;
  cases: CorpusCase[];
};
// SMUGGLING_CASES=regex runs only the cases whose name matches (for debugging one case).
if (process.env.SMUGGLING_CASES) {
  const only = new RegExp(process.env.SMUGGLING_CASES);
  corpus.cases = corpus.cases.filter((c) => only.test(c.name));
}

/** How long a case may keep its connection before we give up waiting for the hop to close it. */
const CASE_BOUND_MS = 4000;
const HEADERS_TIMEOUT_SECONDS = "1";

interface Exchange {
  response: string;
  closedByServer: boolean;
}

/** Sends `bytes` on a new connection; collects the answer until the server closes or `done` says so. */
function exchange(port: number, bytes: Buffer, done: (received: string) => boolean): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let response = "";
    let finished = false;
    const finish = (closedByServer: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closedByServer });
    };
    const timer = setTimeout(() => finish(false), CASE_BOUND_MS);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk) => {
      response += chunk.toString("latin1");
      if (done(response)) finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
  });
}

/** Whether `text` holds one whole response (by content-length, or a chunked body's last chunk). */
function firstResponseComplete(text: string): boolean {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd === -1) return false;
  const head = text.slice(0, headEnd);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) return text.length - headEnd - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return text.includes("\r\n0\r\n\r\n", headEnd);
  return false;
}

function fill(template: string, id: string, host: string, headers: string): string {
  const smuggled = corpus.smuggled.replaceAll("{ID}", id);
  return template
    .replaceAll("{SMUGGLED}", smuggled)
    .replaceAll("{ID}", id)
    .replaceAll("{HOST}", host)
    .replaceAll("{HEADERS}", headers);
}

async function startRecordingApp(t: Parameters<typeof startProcess>[0]) {
  const started = await startProcess(t, "test/faults/recording-app.ts", { PORT: "0" });
  const controlUrl = `http://127.0.0.1:${started.message.controlPort}`;
  return {
    url: `http://127.0.0.1:${started.message.port}`,
    port: started.message.port as number,
    recording: async () => (await (await request(`${controlUrl}/recording`)).body.json()) as Recording,
  };
}

type App = Awaited<ReturnType<typeof startRecordingApp>>;

interface Hop {
  port: number;
  adminUrl: string;
  proc: Started;
}

/** Runs every case against one hop at once and checks each against what its app recorded. */
async function runCorpus(
  t: Test,
  target: string,
  startHop: () => Promise<Hop>,
  app: App,
  host: string,
  headers: string,
): Promise<void> {
  let hop = await startHop();
  const ids = corpus.cases.map((_, i) => `${target}-${i}-z`);
  const send = (c: CorpusCase, i: number) => {
    const bytes = Buffer.from(fill(c.request, ids[i], host, headers), "latin1");
    const want = c.requests ?? 0;
    const done =
      c.expect === "forward"
        ? (received: string) =>
            (received.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0) >= want && received.endsWith("\n")
        : // A refusal is followed by the close; any other whole answer already says enough.
          (received: string) => !received.startsWith("HTTP/1.1 400 ") && firstResponseComplete(received);
    return exchange(hop.port, bytes, done);
  };
  const alive = async () =>
    hop.proc.child.exitCode === null &&
    (await request(`${hop.adminUrl}/healthz`).then(
      async (res) => {
        await res.body.dump();
        return res.statusCode === 200;
      },
      () => false,
    ));
  // Cases that never end wait out their bound in the background; the rest go one at a time, each
  // followed by a look at the hop, so a case that crashes it is named (and the rest not misread).
  const results: (Exchange | undefined)[] = corpus.cases.map(() => undefined);
  const background = corpus.cases.map(async (c, i) => {
    if (c.incomplete) results[i] = await send(c, i);
  });
  const crashers = new Set<number>();
  for (const [i, c] of corpus.cases.entries()) {
    if (c.incomplete) continue;
    results[i] = await send(c, i);
    if (!(await alive())) {
      crashers.add(i);
      t.fail(`${target}: CRASHED by the case "${c.name}" (started again for the rest)`, {
        sent: fill(c.request, ids[i], host, headers),
        exitCode: hop.proc.child.exitCode,
        output: hop.proc.output().slice(-1500),
      });
      hop = await startHop();
    }
  }
  await Promise.all(background);
  // Everything the hop forwarded has either finished or been cut off at the app.
  const recording = await waitFor(
    `${target}: every forwarded request finished or cut off at the app`,
    async () => {
      const rec = await app.recording();
      const open = rec.requests.filter((r) => !r.complete && !rec.connections[r.connection]?.closed);
      return open.length === 0 ? rec : undefined;
    },
    { timeoutMs: 15_000, everyMs: 100 },
  );

  const raw = recording.connections.map((c) => c.raw).join("\n");
  if (process.env.SMUGGLING_REPORT)
    appendFileSync(process.env.SMUGGLING_REPORT, `${JSON.stringify({ target, recording })}\n`);
  const failures: string[] = [];
  for (const [i, c] of corpus.cases.entries()) {
    if (crashers.has(i)) continue;
    const id = ids[i];
    const { response, closedByServer } = results[i] as Exchange;
    const mine = recording.requests.filter((r) => !r.probe && r.url.includes(`/${id}`));
    const seen = mine.map(
      (r) => `${r.method} ${r.url} complete=${r.complete} body=${JSON.stringify(r.body)}`,
    );
    const status = response.slice(0, response.indexOf("\r\n") >>> 0 || 40);
    const problems: string[] = [];
    if (c.expect === "forward") {
      const whole = mine.filter((r) => r.complete && r.url === `/c/${id}`);
      if (whole.length !== c.requests)
        problems.push(`app got ${whole.length} whole requests, want ${c.requests}`);
      const bodies = whole.map((r) => r.body);
      if (JSON.stringify(bodies) !== JSON.stringify(c.bodies))
        problems.push(`bodies ${JSON.stringify(bodies)}`);
      const answered = response.match(/HTTP\/1\.1 200 /g)?.length ?? 0;
      if (answered !== c.requests)
        problems.push(`${answered} × 200 in ${JSON.stringify(response.slice(0, 200))}`);
    } else if (c.tolerated && response.startsWith("HTTP/1.1 200 ")) {
      // Accepted as the RFC allows: then it and the request after it are two ordinary requests,
      // each of which must arrive whole, once.
      const first = mine.filter((r) => r.complete && r.url === `/c/${id}`).length;
      const second = mine.filter((r) => r.complete && r.url === `/smuggled/${id}`).length;
      if (first !== 1 || second !== 1 || mine.length !== 2)
        problems.push(`accepted (${c.tolerated}) but the app saw: ${seen.join("; ")}`);
    } else {
      if (response !== "" && !response.startsWith("HTTP/1.1 400 "))
        problems.push(`answered ${JSON.stringify(status)}, want 400 or a close`);
      if (!c.incomplete && !closedByServer) problems.push("connection left open after the refusal");
      const refusedSeen = mine.some((r) => r.url === `/c/${id}`) || raw.includes(`/c/${id} `);
      if (c.framing === "head" && (refusedSeen || (!c.delimited && mine.length > 0)))
        problems.push(`the app saw the refused request: ${seen.join("; ") || "raw bytes"}`);
      if (mine.some((r) => r.complete && r.url === `/c/${id}`))
        problems.push(`a refused request completed at the app: ${seen.join("; ")}`);
    }
    const acceptedAsRfcAllows = c.tolerated !== undefined && response.startsWith("HTTP/1.1 200 ");
    const next = mine.filter((r) => r.url === `/smuggled/${id}`);
    const nextServedOnItsOwn = c.delimited !== undefined && next.length <= 1 && next.every((r) => r.complete);
    if (
      !acceptedAsRfcAllows &&
      !nextServedOnItsOwn &&
      (raw.includes(`/smuggled/${id}`) || mine.some((r) => r.url.includes("/smuggled/")))
    )
      problems.push(`SMUGGLED request reached the app: ${seen.join("; ") || "raw bytes"}`);
    if (problems.length > 0) {
      failures.push(`${c.name}: ${problems.join("; ")}`);
      if (process.env.SMUGGLING_REPORT)
        appendFileSync(
          process.env.SMUGGLING_REPORT,
          `${JSON.stringify({ target, case: c.name, problems, response: response.slice(0, 300), appSaw: seen })}\n`,
        );
      t.fail(`${target}: ${c.name}`, {
        problems,
        why: c.why,
        sent: fill(c.request, id, host, headers),
        response: response.slice(0, 300),
        appSaw: seen,
      });
    } else {
      const outcome =
        c.expect === "forward"
          ? "forwarded whole"
          : acceptedAsRfcAllows
            ? "accepted, as the RFC allows"
            : status || "closed";
      t.pass(`${target}: ${c.name} → ${outcome}`);
    }
  }
  // A reset or an end mid-body is a hop cutting off a request it gave up on, not a malformed one.
  const cutOff = new Set(["ECONNRESET", "HPE_INVALID_EOF_STATE"]);
  const malformed = recording.parseErrors.filter((e) => !cutOff.has(e.code));
  t.same(malformed, [], `${target}: the app's strict parser never saw a malformed request`, {
    raw: malformed.map((e) => recording.connections[e.connection]?.raw.slice(0, 400)),
  });
  // The background cases (those that never end) must not have crashed it either.
  t.ok(await alive(), `${target} is still up after the corpus`, {
    exitCode: hop.proc.child.exitCode,
    output: hop.proc.child.exitCode === null ? undefined : hop.proc.output().slice(-1500),
  });
  t.comment(
    `${target}: ${corpus.cases.length} cases, ${corpus.cases.length - failures.length} as required; ` +
      `app saw ${recording.connections.length} connections, ${recording.requests.length} requests`,
  );
}

const REVISION = "smug-00001";
const HOST = "smug.default.example.com";

function smugState(appUrl: string, mode: "serve" | "proxy") {
  return stateOf(
    [serviceState("smug", [{ revision: REVISION, percent: 100 }])],
    [revisionState(REVISION, "smug", { mode, endpoints: [{ pod: "p", url: appUrl }] })],
  );
}

// Each hop runs on both HTTP/1.1 data paths (SLUICE_DATA_PATH): raw sockets framed by llhttp, and
// node:http. SMUGGLING_PATHS=raw (or node) runs one.
const PATHS = (process.env.SMUGGLING_PATHS ?? "raw,node").split(",");

for (const path of PATHS) {
  t.test(`router (${path} path)`, async (t) => {
    const app = await startRecordingApp(t);
    const fake = await startFakeAutoscaler(t, smugState(app.url, "serve"));
    const start = async () => {
      const router = await startRouter(t, fake.url, {
        ROUTER_HEADERS_TIMEOUT_SECONDS: HEADERS_TIMEOUT_SECONDS,
        SLUICE_DATA_PATH: path,
      });
      t.equal(router.message.dataPath, path, `the router runs the ${path} path`);
      return { port: router.port, adminUrl: router.adminUrl, proc: router };
    };
    await runCorpus(t, `router/${path}`, start, app, HOST, "");
  });
}

for (const path of PATHS) {
  t.test(`activator (${path} path)`, async (t) => {
    const app = await startRecordingApp(t);
    const fake = await startFakeAutoscaler(t, smugState(app.url, "proxy"));
    // The activator takes requests from the router only: the revision header and the hop secret.
    const secret = "fault-suite-hop-secret-0123456789";
    const start = async () => {
      const activator = await startProcess(t, "activator/main.ts", {
        ACTIVATOR_PORT: "0",
        ACTIVATOR_ADMIN_PORT: "0",
        AUTOSCALER_URL: fake.url,
        ACTIVATOR_HEADERS_TIMEOUT_SECONDS: HEADERS_TIMEOUT_SECONDS,
        SLUICE_HOP_SECRET: secret,
        SLUICE_DATA_PATH: path,
      });
      t.equal(activator.message.dataPath, path, `the activator runs the ${path} path`);
      const adminUrl = `http://127.0.0.1:${activator.message.adminPort}`;
      await waitFor("activator ready", async () => (await request(`${adminUrl}/readyz`)).statusCode === 200);
      return { port: activator.message.port as number, adminUrl, proc: activator };
    };
    const headers = `Sluice-Revision: default/${REVISION}\r\nSluice-Hop-Auth: ${secret}\r\n`;
    await runCorpus(t, `activator/${path}`, start, app, HOST, headers);
  });
}

for (const path of PATHS) {
  t.test(`queue-proxy (${path} path)`, async (t) => {
    const app = await startRecordingApp(t);
    const start = async () => {
      const qp = await startQueueProxy(t, app.port, {
        QUEUE_HEADERS_TIMEOUT_SECONDS: HEADERS_TIMEOUT_SECONDS,
        SLUICE_DATA_PATH: path,
      });
      return { port: Number(new URL(qp.url).port), adminUrl: qp.adminUrl, proc: qp };
    };
    await runCorpus(t, `queue-proxy/${path}`, start, app, HOST, "");
  });
}
