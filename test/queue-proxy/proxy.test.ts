import { Readable } from "node:stream";
import t from "tap";
import { request } from "undici";
import { TEST_HOP_SECRET } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { rawExchange } from "../helpers/raw-http.ts";

t.test("proxies requests and responses faithfully", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);

  t.test("status, body and repeated headers", async (t) => {
    const res = await request(`${qp.url}/status?code=201`);
    t.equal(res.statusCode, 201);
    t.same(res.headers["set-cookie"], ["a=1", "b=2"]);
    t.equal(await res.body.text(), "status\n");
  });

  t.test("end-to-end headers pass, hop-by-hop headers do not", async (t) => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await request(`${qp.url}/headers`, {
      headers: {
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "hello.example.com",
        traceparent,
        "proxy-authorization": "Basic Zm9vOmJhcg==",
      },
    });
    const { headers } = (await res.body.json()) as { headers: Record<string, string> };
    t.equal(headers["x-forwarded-for"], "203.0.113.9");
    t.equal(headers["x-forwarded-proto"], "https");
    t.equal(headers["x-forwarded-host"], "hello.example.com");
    t.equal(headers.traceparent, traceparent);
    t.equal(headers["proxy-authorization"], undefined);
    t.match(headers.host, /^127\.0\.0\.1:\d+$/, "Host is the client's");
  });

  t.test("headers named in Connection are removed", async (t) => {
    const response = await rawExchange(
      Number(new URL(qp.url).port),
      "GET /headers HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nX-Public: yes\r\n\r\n",
    );
    const body = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as {
      headers: Record<string, string>;
    };
    t.equal(body.headers["x-private"], undefined);
    t.equal(body.headers["x-public"], "yes");
  });

  t.test("a 10 MB upload streams through and back", async (t) => {
    const size = 10 * 1024 * 1024;
    let produced = 0;
    const body = Readable.from(
      (function* () {
        const chunk = Buffer.alloc(256 * 1024, 0x62);
        while (produced < size) {
          produced += chunk.length;
          yield chunk;
        }
      })(),
    );
    const res = await request(`${qp.url}/echo`, { method: "POST", body }); // chunked: no length
    let received = 0;
    for await (const chunk of res.body) received += chunk.length;
    t.equal(res.statusCode, 200);
    t.equal(received, size);
  });

  t.test("a 20 MB download streams", async (t) => {
    const res = await request(`${qp.url}/big?bytes=20000000`);
    let received = 0;
    for await (const chunk of res.body) received += chunk.length;
    t.equal(received, 20_000_000);
  });

  t.test("Server-Sent Events arrive before the stream ends", async (t) => {
    const res = await request(`${qp.url}/sse`);
    t.equal(res.headers["content-type"], "text/event-stream");
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    t.equal(String(first.value), "data: first\n\n", "first event delivered while the response is open");
    await app.release();
    let rest = "";
    for (let next = await reader.next(); !next.done; next = await reader.next()) rest += next.value;
    t.equal(rest, "released\n");
  });

  t.test("response trailers are forwarded", async (t) => {
    const res = await request(`${qp.url}/trailers`);
    t.equal(await res.body.text(), "body");
    t.equal(res.trailers["x-checksum"], "abc123");
  });

  t.test("HEAD and 204/304 style responses", async (t) => {
    const res = await request(`${qp.url}/`, { method: "HEAD" });
    t.equal(res.statusCode, 200);
    t.equal(await res.body.text(), "");
  });

  t.test("nothing leaked", async (t) => {
    const stats = await qp.settled();
    t.equal(stats.inFlight, 0);
  });
});

t.test("stats report the time-weighted concurrency and request counts", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);
  await qp.stats(); // start a fresh window
  const held = [1, 2, 3].map(() => request(`${qp.url}/hold`));
  await t.resolves(
    (async () => {
      while ((await app.state()).held < 3) await new Promise((resolve) => setImmediate(resolve));
    })(),
  );
  const withArrivals = await qp.stats();
  t.equal(withArrivals.requestCount, 3, "three requests arrived in the window");
  t.ok(withArrivals.averageConcurrency > 0 && withArrivals.averageConcurrency <= 3);
  const steady = await qp.stats();
  t.equal(steady.averageConcurrency, 3, "a full window with three held requests averages exactly 3");
  t.equal(steady.requestCount, 0);
  t.equal(steady.inFlight, 3);
  await app.release();
  for (const res of await Promise.all(held)) t.equal(await res.body.text(), "released\n");
  await qp.settled();
});

t.test("requests through the activator count as proxied", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);
  await qp.stats();
  const fromActivator = { "k-proxy-request": "activator", "sluice-hop-auth": TEST_HOP_SECRET };
  await (await request(`${qp.url}/`, { headers: fromActivator })).body.text();
  await (await request(`${qp.url}/`)).body.text();
  const stats = await qp.stats();
  t.equal(stats.requestCount, 2);
  t.equal(stats.proxiedRequestCount, 1);
});

t.test("internal headers count only with the hop secret, and never reach the app", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);
  await qp.stats();
  const forged = [
    { "k-proxy-request": "activator" },
    { "k-proxy-request": "activator", "sluice-hop-auth": "not-the-secret-at-all" },
  ];
  for (const headers of forged) await (await request(`${qp.url}/`, { headers })).body.text();
  const stats = await qp.stats();
  t.equal(stats.requestCount, 2);
  t.equal(stats.proxiedRequestCount, 0, "a client cannot pass its requests off as the activator's");

  const probe = await request(`${qp.url}/headers`, {
    headers: { "k-network-probe": "queue", "sluice-revision": "x-1", "sluice-hop-auth": "wrong-wrong-wrong" },
  });
  t.equal(probe.statusCode, 200);
  const { headers } = (await probe.body.json()) as { headers: Record<string, string> };
  t.ok(headers.host, "an unauthenticated probe is an ordinary request: the app answered it");
  for (const name of ["k-network-probe", "sluice-revision", "sluice-hop-auth", "k-proxy-request"])
    t.equal(headers[name], undefined, `${name} is not passed to the app`);

  const fromActivator = await request(`${qp.url}/headers`, {
    headers: { "k-proxy-request": "activator", "sluice-hop-auth": TEST_HOP_SECRET },
  });
  const seen = (await fromActivator.body.json()) as { headers: Record<string, string> };
  t.equal(seen.headers["sluice-hop-auth"], undefined, "the app never learns the hop secret");
});

t.test("without a hop secret the queue-proxy believes no internal header", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { SLUICE_HOP_SECRET: "" });
  await qp.stats();
  const claims = { "k-proxy-request": "activator", "sluice-hop-auth": TEST_HOP_SECRET };
  await (await request(`${qp.url}/`, { headers: claims })).body.text();
  t.equal((await qp.stats()).proxiedRequestCount, 0);
  const probe = await request(`${qp.url}/headers`, { headers: { ...claims, "k-network-probe": "queue" } });
  t.equal(probe.statusCode, 200);
  t.not(await probe.body.text(), "queue\n", "the probe went to the app");
});

t.test("metrics count requests by code", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);
  for (const code of [200, 200, 404]) await (await request(`${qp.url}/status?code=${code}`)).body.text();
  const metrics = await (await request(`${qp.adminUrl}/metrics`)).body.text();
  t.match(
    metrics,
    /sluice_queue_proxy_requests_total\{service="test",namespace="default",revision="test-00001",code="200"\} 2/,
  );
  t.match(metrics, /sluice_queue_proxy_requests_total\{[^}]*code="404"\} 1/);
  t.match(metrics, /sluice_queue_proxy_request_duration_seconds_count\{[^}]*\} 3/);
  t.match(metrics, /sluice_queue_proxy_in_flight_requests\{[^}]*\} 0/);
});
