// What a queue-proxy loads to start: neither prom-client (until /metrics is first asked for, or at
// once with a metrics port) nor OpenTelemetry (unless tracing is configured), nor pino (its start
// lines are simple ones, common/log-line.ts), nor node's cluster module.
import { type ChildProcess, fork } from "node:child_process";
import t, { type Test } from "tap";
import { ROOT, TEST_HOP_SECRET, waitFor, watchChild } from "../helpers/processes.ts";

const RECORD = `${ROOT}test/fixtures/record-modules.ts`;

async function start(t: Test, env: Record<string, string>) {
  const child: ChildProcess = fork(`${ROOT}queue-proxy/main.ts`, [], {
    execArgv: [...process.execArgv, "--import", RECORD],
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      SLUICE_HOP_SECRET: TEST_HOP_SECRET,
      USER_PORT: "1",
      QUEUE_SERVING_PORT: "0",
      QUEUE_ADMIN_PORT: "0",
      QUEUE_METRICS_PORT: "-1",
      SERVING_SERVICE: "test",
      SERVING_REVISION: "test-00001",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const { output } = watchChild(t, child);
  const exited = new Promise<never>((_resolve, reject) =>
    child.once("exit", (code) => reject(new Error(`exited with ${code}:\n${output()}`))),
  );
  exited.catch(() => {}); // raced below; unobserved once the test is over
  const listening = await Promise.race([
    exited,
    new Promise<Record<string, number>>((resolve) => {
      child.on("message", (message: { type?: string } & Record<string, number>) => {
        if (message?.type === "listening") resolve(message);
      });
    }),
  ]);
  const modules = () =>
    Promise.race([
      exited,
      new Promise<{ urls: string[]; builtins: string[] }>((resolve) => {
        const onMessage = (message: { type?: string; urls?: string[]; builtins?: string[] }) => {
          if (message?.type !== "modules") return;
          child.off("message", onMessage);
          resolve({ urls: message.urls ?? [], builtins: message.builtins ?? [] });
        };
        child.on("message", onMessage);
        child.send("modules");
      }),
    ]);
  const loaded = async (pkg: string) =>
    (await modules()).urls.some((url) => url.includes(`/node_modules/${pkg}/`));
  const builtins = async () => (await modules()).builtins;
  return { listening, loaded, builtins, output, adminUrl: `http://127.0.0.1:${listening.adminPort}` };
}

t.test("without a metrics port: prom-client loads at the first scrape; no tracing SDK", async (t) => {
  const qp = await start(t, {});
  t.notOk(await qp.loaded("prom-client"), "no prom-client at start");
  t.notOk(await qp.loaded("@opentelemetry/api"), "no OpenTelemetry");
  // net.Server.listen() would load it, and child_process and dgram with it (listen-handle.ts).
  t.notOk((await qp.builtins()).includes("cluster"), "no cluster module");
  const res = await fetch(`${qp.adminUrl}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  t.match(
    text,
    /^sluice_queue_proxy_in_flight_requests\{service="test",namespace="[^"]*",revision="test-00001"\} 0$/m,
  );
  t.match(text, /^sluice_queue_proxy_process_cpu_seconds_total /m, "with the process metrics");
  t.ok(await qp.loaded("prom-client"), "loaded for the scrape");
});

t.test("at the info level: the start lines are written without pino", async (t) => {
  const qp = await start(t, { LOG_LEVEL: "info" });
  await waitFor("the listening line", () => qp.output().includes('"msg":"queue-proxy listening"'));
  t.notOk(await qp.loaded("pino"), "no pino");
});

t.test("with a metrics port: prom-client loads at start", async (t) => {
  const qp = await start(t, { QUEUE_METRICS_PORT: "0" });
  await waitFor("prom-client loaded", () => qp.loaded("prom-client"));
  const text = await (await fetch(`http://127.0.0.1:${qp.listening.metricsPort}/metrics`)).text();
  t.match(text, /^sluice_queue_proxy_queued_requests\{/m);
});

t.test("with tracing configured: the tracing SDK loads at start", async (t) => {
  const qp = await start(t, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" });
  t.ok(await qp.loaded("@opentelemetry/sdk-trace"), "the SDK");
  t.notOk(await qp.loaded("prom-client"), "still no prom-client");
});
