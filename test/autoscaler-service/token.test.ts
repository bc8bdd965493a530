// SLUICE_TOKEN end to end: the API wants it, the CLI, router and activator send it, and the pods
// the autoscaler starts do not inherit it in their environment (a local app of the same user can
// still read other processes' /proc/<pid>/environ: docs/autoscaler.md says so).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { fixtureService } from "../helpers/data-plane.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const TOKEN = "t0ken-for-tests-0123";

t.test("the API answers only with the right bearer token", async (t) => {
  const autoscaler = await startAutoscaler(t, { SLUICE_TOKEN: TOKEN });
  for (const [what, authorization] of [
    ["missing", undefined],
    ["wrong", "Bearer not-the-token"],
    ["a prefix", `Bearer ${TOKEN.slice(0, -1)}`],
    ["another scheme", `Basic ${TOKEN}`],
  ] as const) {
    for (const path of ["/v1/state", "/v1/status", "/v1/services", "/metrics", "/v1/logs"]) {
      const res = await request(`${autoscaler.url}${path}`, {
        headers: authorization ? { authorization } : {},
      });
      t.equal(res.statusCode, 401, `${what} token: GET ${path}`);
      t.match(res.headers["www-authenticate"], /^Bearer realm="sluice"/);
      t.match(await res.body.text(), /bearer token: send Authorization: Bearer \$SLUICE_TOKEN/);
    }
  }
  const put = await request(`${autoscaler.url}/v1/services`, {
    method: "PUT",
    headers: { "content-type": "application/yaml" },
    body: fixtureService("hello"),
  });
  t.equal(put.statusCode, 401, "PUT without the token");
  await put.body.dump();
  t.same((await autoscaler.state()).services, {}, "nothing was applied");

  const right = await request(`${autoscaler.url}/v1/state`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(right.statusCode, 200, "the right token");
  await right.body.dump();
  for (const path of ["/healthz", "/readyz", "/"]) {
    const res = await request(`${autoscaler.url}${path}`);
    await res.body.dump();
    t.equal(res.statusCode, 200, `${path} needs no token`);
  }
});

t.test("CLI, router and activator send SLUICE_TOKEN; pods do not inherit it", async (t) => {
  const autoscaler = await startAutoscaler(t, { SLUICE_TOKEN: TOKEN });
  const dir = tempDir(t, "sluice-token-");
  const file = join(dir, "hello.yaml");
  // The app prints whether it sees the token, then serves.
  const envCheck = `"${process.execPath}", "-e", "console.log('token in pod: '+(process.env.SLUICE_TOKEN||'none'));require('node:http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT)"`;
  writeFileSync(
    file,
    `${fixtureService("hello")}---\n${fixtureService("envcheck", {
      command: envCheck,
      annotations: ['autoscaling.knative.dev/min-scale: "1"'],
    })}`,
  );

  // The CLI: without the token it says what to do; with it, apply, status and logs work.
  const refused = await sluice(["status", "--autoscaler", autoscaler.url], { env: { SLUICE_TOKEN: "" } });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /answered 401: .*\(set SLUICE_TOKEN to the autoscaler's token\)/);
  const wrong = await sluice(["apply", "-f", file, "--autoscaler", autoscaler.url], {
    env: { SLUICE_TOKEN: "wrong" },
  });
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /answered 401: .*SLUICE_TOKEN is set but the autoscaler does not accept it/);
  const env = { SLUICE_TOKEN: TOKEN };
  const applied = await sluice(["apply", "-f", file, "--autoscaler", autoscaler.url], { env });
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /hello: new service/);
  const status = await sluice(["status", "--autoscaler", autoscaler.url], { env });
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /hello\s+hello-00001/);
  const logs = await waitFor("the envcheck pod's output", async () => {
    const res = await sluice(["logs", "envcheck", "--autoscaler", autoscaler.url], { env });
    return res.code === 0 && res.stdout.includes("token in pod:") ? res : undefined;
  });
  t.match(logs.stdout, /token in pod: none/, "the pod does not inherit SLUICE_TOKEN");

  // Activator and router with the token: the router follows the state watch, a request at zero
  // goes to the activator, whose poke (a stats push) scales the revision up.
  const activator = await startProcess(t, "activator/main.ts", {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: autoscaler.url,
    ACTIVATOR_STATS_INTERVAL_SECONDS: "0.25",
    SLUICE_TOKEN: TOKEN,
  });
  const router = await startRouter(t, autoscaler.url, {
    ACTIVATOR_URL: `http://127.0.0.1:${activator.message.port}`,
    SLUICE_TOKEN: TOKEN,
  });
  await router.waitForGeneration((await autoscaler.state()).generation);
  const res = await request(`${router.url}/`, { headers: { host: "hello.default.example.com" } });
  t.equal(res.statusCode, 200, "a request at zero is served");
  t.match(await res.body.text(), /hello from hello-00001/);
  t.notMatch(activator.output() + router.output(), /state watch answered 401|autoscaler refused stats/);
});
