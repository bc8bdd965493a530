// The router's own lifecycle: TLS from a cert/key pair, and draining on SIGTERM.
import t from "tap";
import { Agent, request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { waitFor } from "../helpers/processes.ts";
import { startApp } from "../helpers/queue-proxy.ts";
import { skipUnlessTool } from "../helpers/required-tool.ts";
import { startRouter } from "../helpers/router.ts";
import { haveOpenssl, testCertificate } from "../helpers/test-certificate.ts";

async function oneService(t: { teardown(fn: () => unknown): void }) {
  const app = await startApp(t, { K_REVISION: "life-00001" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("life", [{ revision: "life-00001", percent: 100 }])],
      [revisionState("life-00001", "life", { endpoints: [{ pod: "p", url: app.url }] })],
    ),
  );
  return { app, fake };
}

t.test(
  "TLS from a cert/key pair: HTTPS over HTTP/1.1 and HTTP/2",
  { skip: skipUnlessTool("openssl (for a test certificate)", haveOpenssl(), "apt-get install openssl") },
  async (t) => {
    const { cert, key } = testCertificate(t, "life.default.example.com");
    const { fake } = await oneService(t);
    const router = await startRouter(t, fake.url, {
      ROUTER_TLS_CERT_FILE: cert,
      ROUTER_TLS_KEY_FILE: key,
      ROUTER_TLS_PORT: "0",
    });
    const tlsPort = router.message.tlsPort as number;
    for (const allowH2 of [false, true]) {
      const dispatcher = new Agent({ allowH2, connect: { rejectUnauthorized: false } });
      t.teardown(() => dispatcher.close());
      const res = await request(`https://127.0.0.1:${tlsPort}/headers`, {
        dispatcher,
        headers: { host: "life.default.example.com" },
      });
      t.equal(res.statusCode, 200, allowH2 ? "HTTP/2" : "HTTP/1.1");
      const seen = JSON.parse(await res.body.text()) as { headers: Record<string, string> };
      t.equal(seen.headers["x-forwarded-proto"], "https");
    }
  },
);

t.test("SIGTERM: not ready at once, requests in flight finish, then it exits 0", async (t) => {
  const { app, fake } = await oneService(t);
  const router = await startRouter(t, fake.url);
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const held = request(`${router.url}/hold`, { dispatcher, headers: { host: "life" } });
  await waitFor("held at the app", async () => (await app.state()).held === 1);
  router.child.kill("SIGTERM");
  await waitFor(
    "readiness fails",
    async () => (await request(`${router.adminUrl}/readyz`)).statusCode === 503,
  );
  t.equal(router.child.exitCode, null, "still running while a request is in flight");
  await app.release();
  const res = await held;
  t.equal(res.statusCode, 200);
  t.equal(res.headers.connection, "close", "the client is told to reconnect elsewhere");
  t.equal(await res.body.text(), "released\n");
  t.equal(await router.exited, 0);
});
