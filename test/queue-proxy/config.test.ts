import t from "tap";
import type { ConfigError } from "../../common/env.ts";
import { loadConfig, parseReadinessProbe } from "../../queue-proxy/config.ts";

t.test("Knative's defaults", async (t) => {
  const config = loadConfig({});
  t.equal(config.containerConcurrency, 0);
  t.equal(config.queueDepth, 0);
  t.equal(config.timeoutMs, 300_000);
  t.equal(config.servingPort, 8012);
  t.equal(config.adminPort, 8022);
  t.equal(config.metricsPort, 9091);
  t.equal(config.userPort, 8080);
  t.same(config.readinessProbe, {
    kind: "tcp",
    host: "127.0.0.1",
    port: 8080,
    periodMs: 1000,
    timeoutMs: 1000,
  });
});

t.test("queue depth follows containerConcurrency unless set", async (t) => {
  t.equal(loadConfig({ CONTAINER_CONCURRENCY: "3" }).queueDepth, 30);
  t.equal(loadConfig({ CONTAINER_CONCURRENCY: "3", QUEUE_DEPTH: "5" }).queueDepth, 5);
});

t.test("timeouts in seconds become milliseconds", async (t) => {
  const config = loadConfig({
    REVISION_TIMEOUT_SECONDS: "10",
    REVISION_RESPONSE_START_TIMEOUT_SECONDS: "2.5",
    REVISION_IDLE_TIMEOUT_SECONDS: "1",
  });
  t.equal(config.timeoutMs, 10_000);
  t.equal(config.responseStartTimeoutMs, 2500);
  t.equal(config.idleTimeoutMs, 1000);
  t.equal(config.drainTimeoutMs, 40_000, "drain allows the revision timeout plus a margin");
});

t.test("readiness probe in Knative's JSON form", async (t) => {
  t.same(
    parseReadinessProbe('{"httpGet":{"path":"/ready","port":9000},"periodSeconds":2}', "127.0.0.1", 8080),
    {
      kind: "http",
      host: "127.0.0.1",
      port: 9000,
      path: "/ready",
      periodMs: 2000,
      timeoutMs: 1000,
    },
  );
  t.match(parseReadinessProbe('{"tcpSocket":{}}', "h", 81), { kind: "tcp", port: 81 });
  t.match(parseReadinessProbe("{not json", "h", 1), /not valid JSON/);
  t.match(parseReadinessProbe('{"exec":{}}', "h", 1), /unknown field exec/);
  t.match(parseReadinessProbe('{"httpGet":{"path":"ready"}}', "h", 1), /must start with \//);
  t.equal(
    parseReadinessProbe(JSON.stringify({ httpGet: { path: "/ready\r\nx-injected: 1" } }), "h", 1),
    'SERVING_READINESS_PROBE: httpGet.path holds "\\r" at index 6: only visible ASCII, percent-encode the rest',
    "a line break would add a header to the probe's request",
  );
  t.match(parseReadinessProbe(JSON.stringify({ httpGet: { path: "/a b" } }), "h", 1), /holds " " at index 2/);
  t.match(parseReadinessProbe(JSON.stringify({ httpGet: { path: "/é" } }), "h", 1), /holds "é" at index 1/);
  t.match(parseReadinessProbe(JSON.stringify({ httpGet: { path: "/ok%20?q=1&r=~" } }), "h", 1), {
    path: "/ok%20?q=1&r=~",
  });
  t.match(parseReadinessProbe('{"tcpSocket":{"port":"x"}}', "h", 1), /not a port/);
});

t.test("bad values name the variable", async (t) => {
  const error = t.throws(() =>
    loadConfig({ USER_PROTOCOL: "spdy", SERVING_READINESS_PROBE: "[]", CONTAINER_CONCURRENCY: "-1" }),
  ) as unknown as ConfigError;
  t.equal(error.problems.length, 3);
  t.match(error.message, /USER_PROTOCOL="spdy"/);
  t.match(error.message, /SERVING_READINESS_PROBE: expected a JSON object/);
  t.match(error.message, /CONTAINER_CONCURRENCY="-1"/);
});

t.test("SLUICE_HOP_SECRET: unset means none; a short one is refused", async (t) => {
  t.equal(loadConfig({}).hopSecret, undefined);
  t.equal(loadConfig({ SLUICE_HOP_SECRET: "0123456789abcdef" }).hopSecret, "0123456789abcdef");
  t.throws(() => loadConfig({ SLUICE_HOP_SECRET: "short" }), /SLUICE_HOP_SECRET: at least 16 characters/);
});
