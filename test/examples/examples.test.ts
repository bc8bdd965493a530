import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import t from "tap";
import { request } from "undici";
import { freePort } from "../../common/free-port.ts";
import { loadManifests } from "../../serving/load.ts";
import { localRunnable, validateServices } from "../../serving/validate.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";

const EXAMPLES = `${ROOT}examples/`;
const files = readdirSync(EXAMPLES).filter((name) => name.endsWith(".yaml"));

t.test("every example Service file loads, validates and runs locally", async (t) => {
  t.same(files.sort(), ["hello.yaml", "one-at-a-time.yaml", "scheduled.yaml"]);
  for (const name of files) {
    const { services, problems } = loadManifests(readFileSync(`${EXAMPLES}${name}`, "utf8"), name);
    t.same(problems, [], `${name} loads`);
    t.same(
      validateServices(services, () => []),
      [],
      `${name} validates on an empty sluice`,
    );
    for (const { manifest } of services) {
      t.equal(localRunnable(manifest), undefined, `${name}: ${manifest.metadata.name} runs locally`);
      t.equal(
        manifest.spec.template.metadata?.annotations?.["autoscaling.knative.dev/min-scale"],
        "0",
        `${name}: ${manifest.metadata.name} scales to zero`,
      );
      t.same(manifest.spec.template.spec.containers[0].command, ["node", "examples/hello/app.ts"]);
    }
  }
});

t.test("what each example declares", async (t) => {
  const load = (name: string) =>
    loadManifests(readFileSync(`${EXAMPLES}${name}`, "utf8"), name).services.map((s) => s.manifest);
  const hello = load("hello.yaml");
  t.same(
    hello.map((m) => [m.metadata.name, m.spec.template.metadata?.name]),
    [
      ["hello", "hello-00001"],
      ["hello", "hello-00002"],
    ],
    "two named revisions of one service",
  );
  t.same(hello[1].spec.traffic, [
    { revisionName: "hello-00001", percent: 80 },
    { revisionName: "hello-00002", percent: 20, tag: "canary" },
  ]);
  const [oneAtATime] = load("one-at-a-time.yaml");
  t.equal(oneAtATime.spec.template.spec.containerConcurrency, 1);
  const [scheduled] = load("scheduled.yaml");
  t.match(scheduled.spec.template.metadata?.annotations?.["autoscaling.sluice.dev/schedule"], /minScale: 2/);
});

/** Runs the hello app on a free port; resolves once it says it listens. */
async function startHello(t: { teardown(fn: () => unknown): void }, env: Record<string, string>) {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [`${EXAMPLES}hello/app.ts`], {
    env: { ...process.env, PORT: String(port), K_REVISION: "hello-00001", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { output, exited } = watchChild(t, child);
  await waitFor("the app to listen", () => output().includes(`listening on port ${port}`));
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  return { child, port, exited, get, output };
}

t.test("the hello app greets, sleeps, streams and rejects a bad sleep", async (t) => {
  const app = await startHello(t, { TARGET: "v1" });
  t.match(await app.get("/"), { status: 200, text: "Hello from hello-00001 (v1)\n" });

  const started = Date.now();
  t.match(await app.get("/?sleep=50"), { status: 200, text: "Hello from hello-00001 (v1) after 50 ms\n" });
  t.ok(Date.now() - started >= 50, "the answer waited");
  t.match(await app.get("/sleep?ms=10"), { status: 200, text: /after 10 ms/ });

  for (const bad of ["/?sleep=abc", "/?sleep=-1", "/?sleep=60001", "/?sleep=1.5", "/sleep?ms="]) {
    const res = await app.get(bad);
    t.equal(res.status, 400, bad);
    t.match(res.text, /expected a whole number from 0 to 60000/, bad);
  }

  const stream = await app.get("/stream?n=3");
  t.equal(stream.status, 200);
  t.equal(stream.text, "1/3 from hello-00001\n2/3 from hello-00001\n3/3 from hello-00001\n");
  const sse = await app.get("/stream?n=2", { accept: "text/event-stream" });
  t.match(sse.headers["content-type"], /^text\/event-stream/);
  t.equal(sse.text, "id: 1\ndata: 1/2 from hello-00001\n\nid: 2\ndata: 2/2 from hello-00001\n\n");
  t.equal((await app.get("/stream?n=0")).status, 400);
  t.equal((await app.get("/nothing-here")).status, 404);

  await waitFor("one log line per request", () => app.output().includes("GET /?sleep=abc 400"));
  t.match(app.output(), /GET \/\?sleep=50 200 \d+ms/);
});

t.test("without TARGET the app greets the World", async (t) => {
  const app = await startHello(t, { TARGET: "" });
  t.equal((await app.get("/")).text, "Hello from hello-00001 (World)\n");
});

t.test("on SIGTERM the app finishes a stream in flight, then exits 0", async (t) => {
  const app = await startHello(t, {});
  const res = await request(`http://127.0.0.1:${app.port}/stream?n=5`);
  const body = res.body[Symbol.asyncIterator]();
  const first = await body.next();
  t.match(String(first.value), /^1\/5/, "the stream has started");
  app.child.kill("SIGTERM");
  let rest = "";
  for (let chunk = await body.next(); !chunk.done; chunk = await body.next()) rest += chunk.value;
  t.match(rest, /5\/5 from hello-00001\n$/, "the stream ran to its end");
  t.equal(await app.exited, 0);
  t.match(app.output(), /stopping: finishing requests in flight/);
});
