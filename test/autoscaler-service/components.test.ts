// PUT /v1/components against a real autoscaler: the report of `sluice up` shows in /v1/status,
// and the API's gate and validation apply to it like to every write.
import t from "tap";
import { request } from "undici";
import type { ComponentStatus } from "../../common/status.ts";
import { startAutoscaler } from "../helpers/autoscaler.ts";

const REPORT: ComponentStatus[] = [
  {
    name: "autoscaler",
    state: "running",
    pid: 4242,
    ports: { port: 8090 },
    restarts: 1,
    startedAt: "2025-01-01T15:03:05.000Z",
    lastExit: { code: "SIGKILL", at: "2025-01-01T15:03:04.500Z", ranForMs: 61_000, lastLines: [] },
  },
  {
    name: "router",
    state: "running",
    pid: 4243,
    ports: { port: 8080 },
    restarts: 0,
    startedAt: "2025-01-01T15:00:00.000Z",
  },
];

async function put(url: string, body: string, headers: Record<string, string>) {
  const res = await request(`${url}/v1/components`, { method: "PUT", body, headers });
  return { status: res.statusCode, text: await res.body.text() };
}

t.test("PUT /v1/components: the latest report shows in GET /v1/status", async (t) => {
  const autoscaler = await startAutoscaler(t);
  t.notOk("components" in (await autoscaler.status()), "absent while nobody reported");

  const json = { "content-type": "application/json" };
  const first = await put(autoscaler.url, JSON.stringify({ components: REPORT }), json);
  t.equal(first.status, 200, first.text);
  t.same((await autoscaler.status()).components, REPORT, "reported as sent");

  const later = [{ ...REPORT[1], state: "restarting", restarts: 1 }] as ComponentStatus[];
  delete later[0].pid;
  t.equal((await put(autoscaler.url, JSON.stringify({ components: later }), json)).status, 200);
  t.same((await autoscaler.status()).components, later, "a new report replaces the last");

  const plain = await put(autoscaler.url, JSON.stringify({ components: REPORT }), {
    "content-type": "text/plain",
  });
  t.equal(plain.status, 415, "text/plain is refused");
  t.match(plain.text, "PUT /v1/components takes Content-Type application/json; got text/plain");

  const bad = await put(
    autoscaler.url,
    JSON.stringify({ components: [REPORT[0], { ...REPORT[1], restarts: "none" }] }),
    json,
  );
  t.equal(bad.status, 400, "a bad report is refused");
  t.equal(bad.text.trim(), "component report: components[1].restarts: expected an integer >= 0");
  const notJson = await put(autoscaler.url, "{components", json);
  t.equal(notJson.status, 400);
  t.match(notJson.text, /^component report: body is not JSON/);
  t.same((await autoscaler.status()).components, later, "refused reports change nothing");
});

t.test("with SLUICE_TOKEN, a report needs the token", async (t) => {
  const autoscaler = await startAutoscaler(t, { SLUICE_TOKEN: "report-secret-0123456789" });
  const body = JSON.stringify({ components: REPORT });
  const anonymous = await put(autoscaler.url, body, { "content-type": "application/json" });
  t.equal(anonymous.status, 401);
  const signed = await put(autoscaler.url, body, {
    "content-type": "application/json",
    ...autoscaler.headers,
  });
  t.equal(signed.status, 200, signed.text);
  t.same((await autoscaler.status()).components, REPORT);
});
