// The router against a state it is handed (a fake autoscaler) and fixture apps standing in for
// pods and the activator: routing, splits, tags, headers, mode switches and table swaps.
import { Readable } from "node:stream";
import t from "tap";
import { Agent, request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { waitFor } from "../helpers/processes.ts";
import { startApp } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";

const dispatcher = new Agent({ connections: 64 });
t.teardown(() => dispatcher.close());

async function get(url: string, host: string, headers: Record<string, string> = {}, path = "/") {
  const res = await request(`${url}${path}`, { dispatcher, headers: { host, ...headers } });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

t.test("routing through the router", async (t) => {
  const v1 = await startApp(t, { K_REVISION: "hello-00001" });
  const v2 = await startApp(t, { K_REVISION: "hello-00002" });
  const v3 = await startApp(t, { K_REVISION: "hello-00003" });
  const activator = await startApp(t, { K_REVISION: "activator" });
  const endpoint = (app: { url: string }) => [{ pod: "p", url: app.url }];
  const revisions = [
    revisionState("hello-00001", "hello", { endpoints: endpoint(v1) }),
    revisionState("hello-00002", "hello", { endpoints: endpoint(v2) }),
    revisionState("hello-00003", "hello", { endpoints: endpoint(v3) }),
  ];
  const split = (percents: number[]) =>
    stateOf(
      [
        serviceState(
          "hello",
          percents.map((percent, i) => ({
            revision: `hello-0000${i + 1}`,
            percent,
            ...(i === 1 ? { tag: "canary" } : {}),
          })),
          { canary: { hosts: ["canary-hello.default.example.com"], revision: "hello-00002" } },
        ),
      ],
      revisions,
    );
  let generation = 1;
  const fake = await startFakeAutoscaler(t, { ...split([80, 20, 0]), generation });
  const router = await startRouter(t, fake.url, { ACTIVATOR_URL: activator.url });
  const publish = async (state: ReturnType<typeof split>) => {
    generation++;
    fake.publish({ ...state, generation });
    await router.waitForGeneration(generation);
  };
  const countRevisions = async (n: number, host = "hello.default.example.com") => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await get(router.url, host);
      counts[res.headers["sluice-revision"] as string] =
        (counts[res.headers["sluice-revision"] as string] ?? 0) + 1;
    }
    return counts;
  };

  t.test("80/20 is exact over 100 requests; the 0 % revision gets nothing", async (t) => {
    t.same(await countRevisions(100), { "hello-00001": 80, "hello-00002": 20 });
    t.same(await countRevisions(100), { "hello-00001": 80, "hello-00002": 20 }, "and the next 100");
  });

  t.test("99/1: a 1 % canary gets exactly 1 request in 100", async (t) => {
    await publish(split([99, 1, 0]));
    t.same(await countRevisions(200), { "hello-00001": 198, "hello-00002": 2 });
  });

  t.test("three-way 50/30/20", async (t) => {
    await publish(split([50, 30, 20]));
    t.same(await countRevisions(100), { "hello-00001": 50, "hello-00002": 30, "hello-00003": 20 });
  });

  t.test("tag host, Sluice-Tag header, host with port, short hosts, path prefix", async (t) => {
    t.same(await countRevisions(10, "canary-hello.default.example.com"), { "hello-00002": 10 });
    t.same(await countRevisions(10, "canary-hello.default.example.com:8080"), { "hello-00002": 10 });
    const ignored = new Set<string>();
    for (let i = 0; i < 10; i++)
      ignored.add((await get(router.url, "hello", { "sluice-tag": "canary" })).body);
    t.ok(ignored.has("hello from hello-00001\n"), "Sluice-Tag is ignored by default (as Knative's)");
    const tagging = await startRouter(t, fake.url, {
      ACTIVATOR_URL: activator.url,
      ROUTER_TAG_HEADER_ROUTING: "true",
    });
    await tagging.waitForGeneration(generation);
    for (let i = 0; i < 10; i++) {
      const res = await get(tagging.url, "hello", { "sluice-tag": "canary" });
      t.equal(res.body, "hello from hello-00002\n", "honoured when ROUTER_TAG_HEADER_ROUTING=true");
    }
    const short = await get(router.url, "hello.default:1234");
    t.equal(short.status, 200);
    const viaPath = await get(router.url, "127.0.0.1", {}, "/hello/headers?x=1");
    t.equal(viaPath.status, 200);
    const seen = JSON.parse(viaPath.body) as { headers: Record<string, string> };
    t.equal(
      seen.headers["x-forwarded-prefix"],
      "/hello",
      "the prefix is removed and passed as X-Forwarded-Prefix",
    );
  });

  t.test("unknown host → 404 naming it; invalid host → 400", async (t) => {
    const missing = await get(router.url, "nope.example.com");
    t.equal(missing.status, 404);
    t.match(missing.body, /no service has the host "nope.example.com"/);
    const bad = await get(router.url, "bad/host");
    t.equal(bad.status, 400);
    t.match(bad.body, /invalid or missing Host header/);
  });

  t.test("headers: X-Forwarded-*, traceparent passed on, Sluice-Revision on the response", async (t) => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await get(
      router.url,
      "canary-hello.default.example.com:8080",
      { traceparent, "x-forwarded-for": "10.1.2.3" },
      "/headers",
    );
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    t.equal(seen.headers["x-forwarded-for"], "127.0.0.1", "the client address, not what it claims");
    t.equal(seen.headers["x-forwarded-proto"], "http");
    t.equal(seen.headers["x-forwarded-host"], "canary-hello.default.example.com:8080");
    t.equal(seen.headers.traceparent, traceparent);
    t.equal(
      seen.headers["sluice-revision"],
      undefined,
      "pods are not told the revision (only the activator is)",
    );
    t.equal(res.headers["sluice-revision"], "hello-00002");
  });

  t.test("proxy mode goes to the activator, naming the revision", async (t) => {
    await publish(
      stateOf(
        [split([100, 0, 0]).services["default/hello"]],
        [
          revisionState("hello-00001", "hello", { mode: "proxy", endpoints: endpoint(v1) }),
          revisions[1],
          revisions[2],
        ],
      ),
    );
    const res = await get(router.url, "hello", {}, "/headers");
    const seen = JSON.parse(res.body) as { headers: Record<string, string>; revision: string };
    t.equal(seen.revision, "activator");
    t.equal(seen.headers["sluice-revision"], "default/hello-00001", "its key, namespace included");
  });

  t.test("serve ↔ proxy switches and table swaps under load lose no request", async (t) => {
    let stop = false;
    const results = new Map<number, number>();
    const load = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const res = await get(router.url, "hello", {}, "/sleep?ms=2");
        results.set(res.status, (results.get(res.status) ?? 0) + 1);
      }
    });
    for (let round = 0; round < 10; round++) {
      const mode = round % 2 === 0 ? "serve" : "proxy";
      await publish(
        stateOf(
          [
            serviceState(
              "hello",
              round % 3 === 0
                ? [{ revision: "hello-00001", percent: 100 }]
                : [
                    { revision: "hello-00001", percent: 50 },
                    { revision: "hello-00003", percent: 50 },
                  ],
            ),
          ],
          [
            revisionState("hello-00001", "hello", { mode, endpoints: endpoint(v1) }),
            revisions[1],
            revisions[2],
          ],
        ),
      );
      await waitFor(
        "requests flowing",
        () => [...results.values()].reduce((a, b) => a + b, 0) > (round + 1) * 20,
      );
    }
    stop = true;
    await Promise.all(load);
    t.same([...results.keys()], [200], `every one of ${results.get(200)} requests answered 200`);
  });

  t.test("the router keeps routing from its last table when the autoscaler goes away", async (t) => {
    await publish(split([80, 20, 0]));
    await fake.stop();
    t.same(await countRevisions(100), { "hello-00001": 80, "hello-00002": 20 });
  });
});

t.test("containerConcurrency is respected per pod; a full revision overflows to the activator", async (t) => {
  const podA = await startApp(t, { K_REVISION: "cc-00001" });
  const podB = await startApp(t, { K_REVISION: "cc-00001" });
  const activator = await startApp(t, { K_REVISION: "activator" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("cc", [{ revision: "cc-00001", percent: 100 }])],
      [
        revisionState("cc-00001", "cc", {
          containerConcurrency: 1,
          endpoints: [
            { pod: "a", url: podA.url },
            { pod: "b", url: podB.url },
          ],
        }),
      ],
    ),
  );
  const router = await startRouter(t, fake.url, { ACTIVATOR_URL: activator.url });
  const held = Array.from({ length: 4 }, () => get(router.url, "cc", {}, "/hold"));
  await waitFor("two held at the pods, two at the activator", async () => {
    const [a, b, act] = await Promise.all([podA.state(), podB.state(), activator.state()]);
    return a.held === 1 && b.held === 1 && act.held === 2;
  });
  await Promise.all([podA.release(), podB.release(), activator.release()]);
  const answers = await Promise.all(held);
  t.same(
    answers.map((answer) => answer.status),
    [200, 200, 200, 200],
  );
  t.equal((await podA.state()).maxInFlight, 1, "pod A never had more than 1 in flight");
  t.equal((await podB.state()).maxInFlight, 1, "pod B never had more than 1 in flight");
});

t.test(
  "a request whose pod refuses the connection is answered through the activator, any method",
  async (t) => {
    const activator = await startApp(t, { K_REVISION: "activator" });
    const dead = "http://127.0.0.1:1"; // nothing listens on port 1: a pod gone, still in the state
    const fake = await startFakeAutoscaler(
      t,
      stateOf(
        [serviceState("retry", [{ revision: "retry-00001", percent: 100 }])],
        [revisionState("retry-00001", "retry", { endpoints: [{ pod: "dead", url: dead }] })],
      ),
    );
    const router = await startRouter(t, fake.url, { ACTIVATOR_URL: activator.url });
    const gets = await Promise.all(
      Array.from({ length: 10 }, () => get(router.url, "retry", {}, "/headers")),
    );
    t.same(new Set(gets.map((res) => res.status)), new Set([200]), "no 502: every GET answered");
    const seen = JSON.parse(gets[0].body) as { headers: Record<string, string>; revision: string };
    t.equal(seen.revision, "activator", "through the activator");
    t.equal(seen.headers["sluice-revision"], "default/retry-00001", "naming the revision (namespace/name)");
    // The client sees the plain name.
    t.equal(gets[0].headers["sluice-revision"], "retry-00001");

    for (const [method, body] of [
      ["POST", "a small body"],
      ["PUT", Readable.from(["streamed ", "in ", "chunks"])],
      ["DELETE", undefined],
    ] as const) {
      const res = await request(`${router.url}/echo`, {
        dispatcher,
        method,
        headers: { host: "retry" },
        body,
      });
      t.equal(res.statusCode, 200, `${method} retried through the activator`);
      t.equal(res.headers["x-request-method"], method);
      const echoed = await res.body.text();
      if (method === "POST") t.equal(echoed, "a small body", "the body arrives whole");
      if (method === "PUT") t.equal(echoed, "streamed in chunks", "a streamed body too");
    }
    t.match(await router.metrics(), /sluice_router_retries_total\{[^}]*revision="retry-00001"[^}]*\} 13/);
  },
);
