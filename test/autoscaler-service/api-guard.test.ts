// The autoscaler API's trust boundary, against a real autoscaler: foreign Host names, content
// types of writes, CORS, and the refusal to listen off loopback without a token.
import { fork } from "node:child_process";
import t from "tap";
import { request } from "undici";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { ROOT, watchChild } from "../helpers/processes.ts";

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((name) => name.toLowerCase().startsWith("access-control-"));

t.test("a foreign Host is refused for reads and writes (DNS rebinding)", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const port = new URL(autoscaler.url).port;
  for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.1.nip.io:${port}`]) {
    const get = await request(`${autoscaler.url}/v1/state`, { headers: { host } });
    t.equal(get.statusCode, 403, `GET with Host ${host}`);
    t.match(await get.body.text(), /refusing Host .*answers only localhost, 127\.0\.0\.1, \[::1\]/);
  }
  const put = await request(`${autoscaler.url}/v1/services`, {
    method: "PUT",
    headers: { host: `evil.example:${port}`, "content-type": "application/yaml" },
    body: appService("rebound"),
  });
  t.equal(put.statusCode, 403, "PUT with a foreign Host");
  t.match(await put.body.text(), /refusing Host "evil\.example:\d+"/);
  const page = await request(`${autoscaler.url}/`, { headers: { host: `evil.example:${port}` } });
  t.equal(page.statusCode, 403, "the status page too");
  await page.body.dump();
  t.same((await autoscaler.state()).services, {}, "nothing was applied");

  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "localhost", `[::1]:${port}`]) {
    const res = await request(`${autoscaler.url}/v1/state`, { headers: { host } });
    await res.body.dump();
    t.equal(res.statusCode, 200, `Host ${host} is answered`);
  }
  const probe = await request(`${autoscaler.url}/healthz`, { headers: { host: `10.1.2.3:${port}` } });
  await probe.body.dump();
  t.equal(probe.statusCode, 200, "probes answer any Host (a kubelet sends the pod IP)");
});

t.test("a configured Host name is answered", async (t) => {
  const autoscaler = await startAutoscaler(t, {
    AUTOSCALER_ALLOWED_HOSTS: "sluice-autoscaler.sluice-system",
  });
  const port = new URL(autoscaler.url).port;
  const res = await request(`${autoscaler.url}/v1/state`, {
    headers: { host: `sluice-autoscaler.sluice-system:${port}` },
  });
  await res.body.dump();
  t.equal(res.statusCode, 200);
  const other = await request(`${autoscaler.url}/v1/state`, { headers: { host: `evil.example:${port}` } });
  await other.body.dump();
  t.equal(other.statusCode, 403, "other names still refused");
});

t.test("writes need a JSON or YAML content type; nothing is applied otherwise", async (t) => {
  const autoscaler = await startAutoscaler(t);
  for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
    const res = await request(`${autoscaler.url}/v1/services`, {
      method: "PUT",
      headers: type ? { "content-type": type } : {},
      body: appService("sneaky"),
    });
    t.equal(res.statusCode, 415, `PUT as ${type}`);
    t.match(
      await res.body.text(),
      /PUT \/v1\/services takes Content-Type application\/yaml, application\/x-yaml, text\/yaml, application\/json/,
    );
  }
  const stats = await request(`${autoscaler.url}/v1/stats`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ activator: "x", revisions: [] }),
  });
  t.equal(stats.statusCode, 415, "POST /v1/stats as text/plain");
  t.match(await stats.body.text(), /POST \/v1\/stats takes Content-Type application\/json; got text\/plain/);
  t.same((await autoscaler.state()).services, {}, "nothing was applied");

  for (const type of ["application/yaml", "application/x-yaml", "text/yaml; charset=utf-8"]) {
    const res = await request(`${autoscaler.url}/v1/services`, {
      method: "PUT",
      headers: { "content-type": type },
      body: appService(`ok-${type.replace(/\W+/g, "-")}`, {
        annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
      }),
    });
    t.equal(res.statusCode, 200, `PUT as ${type}: ${await res.body.text()}`);
  }
  const json = await request(`${autoscaler.url}/v1/services`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "as-json" },
      spec: {
        template: {
          metadata: { annotations: { "autoscaling.knative.dev/initial-scale": "0" } },
          spec: { containers: [{ command: [process.execPath, `${ROOT}test/fixtures/app.ts`] }] },
        },
      },
    }),
  });
  t.equal(json.statusCode, 200, `PUT as JSON: ${await json.body.text()}`);
});

t.test("no CORS: OPTIONS is refused and no response carries Access-Control-* headers", async (t) => {
  const autoscaler = await startAutoscaler(t);
  for (const path of ["/v1/services", "/v1/stats", "/v1/state", "/"]) {
    const res = await request(`${autoscaler.url}${path}`, {
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
      },
    });
    t.equal(res.statusCode, 405, `OPTIONS ${path}`);
    t.match(await res.body.text(), /no cross-origin \(CORS\) requests/);
    t.same(corsHeaders(res.headers), [], `OPTIONS ${path}: no CORS headers`);
  }
  const get = await request(`${autoscaler.url}/v1/status`, { headers: { origin: "https://evil.example" } });
  await get.body.dump();
  t.equal(get.statusCode, 200);
  t.same(corsHeaders(get.headers), [], "GET with Origin: no CORS headers");
});

t.test("off loopback without SLUICE_TOKEN the autoscaler refuses to start (exit 2)", async (t) => {
  const child = fork(`${ROOT}autoscaler/main.ts`, [], {
    env: { ...process.env, AUTOSCALER_PORT: "0", AUTOSCALER_BIND_ADDRESS: "0.0.0.0", SLUICE_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let listening = false;
  child.on("message", () => (listening = true));
  const { output, exited } = watchChild(t, child);
  t.equal(await exited, 2, "exit code 2");
  t.notOk(listening, "never listened");
  t.match(output(), /AUTOSCALER_BIND_ADDRESS=0\.0\.0\.0 listens off loopback: set SLUICE_TOKEN/);
});
