import t from "tap";
import { HopAuth } from "../../common/hop-auth.ts";
import type { Dispatcher } from "../../common/http/undici-dispatchers.ts";
import { createLogger } from "../../common/log.ts";
import { applyEvent } from "../../common/state.ts";
import { type Resolution, resolve } from "../../router/resolve.ts";
import type { RouterWaiter } from "../../router/revision-target.ts";
import { RevisionTargets } from "../../router/revision-targets.ts";
import { buildRouteTable, EMPTY_TABLE } from "../../router/route-table.ts";
import { revisionState, serviceState, stateOf } from "../helpers/fake-autoscaler.ts";

const options = { tagHeaderRouting: true, pathRouting: true };

function registry(t: { teardown(fn: () => unknown): void }) {
  const targets = new RevisionTargets({
    http1: {} as Dispatcher,
    h2c: {} as Dispatcher,
    activatorOrigin: "http://activator",
    log: createLogger("router-test", "warn"),
    accessLog: false,
    timeoutSlackMs: 1000,
    hopAuth: new HopAuth(undefined),
  });
  t.teardown(() => targets.close());
  return targets;
}

const newWaiter = (): RouterWaiter => ({ origin: undefined, slot: null, admit() {} });

const revisionOf = (found: Resolution) => ("target" in found ? found.target.name : `${found.status}`);

const hello = stateOf(
  [
    serviceState(
      "hello",
      [
        { revision: "hello-00001", percent: 80 },
        { revision: "hello-00002", percent: 20, tag: "canary" },
      ],
      {
        canary: { hosts: ["canary-hello.default.example.com"], revision: "hello-00002" },
      },
    ),
  ],
  [revisionState("hello-00001", "hello"), revisionState("hello-00002", "hello")],
);

t.test("hosts with and without port, short hosts, tag hosts, unknown and invalid hosts", async (t) => {
  const table = buildRouteTable(EMPTY_TABLE, hello, registry(t));
  const one = (host: string | undefined, url = "/", tag?: string) =>
    revisionOf(resolve(table, host, url, tag, options));
  t.match(one("hello.default.example.com"), /^hello-0000[12]$/);
  t.match(one("hello.default.example.com:8080"), /^hello-0000[12]$/);
  t.match(one("HELLO.default"), /^hello-0000[12]$/);
  t.match(one("hello"), /^hello-0000[12]$/);
  t.equal(one("canary-hello.default.example.com:80"), "hello-00002", "a tag host reaches its revision only");
  t.equal(one("nope.example.com"), "404");
  t.equal(one("bad host"), "400");
  t.equal(one(undefined), "400");
  const notFound = resolve(table, "nope.example.com", "/", undefined, options);
  t.match(notFound, { status: 404, message: /no service has the host "nope.example.com"/ });
});

t.test(
  "the Sluice-Tag header picks a tagged revision on the main host; an unknown tag uses the split",
  async (t) => {
    const table = buildRouteTable(EMPTY_TABLE, hello, registry(t));
    for (let i = 0; i < 20; i++)
      t.equal(revisionOf(resolve(table, "hello", "/", "canary", options)), "hello-00002");
    const seen = new Set(
      Array.from({ length: 10 }, () => revisionOf(resolve(table, "hello", "/", "nope", options))),
    );
    t.same(seen, new Set(["hello-00001", "hello-00002"]));
    const off = { ...options, tagHeaderRouting: false };
    const untagged = Array.from({ length: 100 }, () =>
      revisionOf(resolve(table, "hello", "/", "canary", off)),
    );
    t.equal(
      untagged.filter((name) => name === "hello-00002").length,
      20,
      "ignored when disabled: the split applies",
    );
  },
);

t.test("path routing: an unknown host routes by the first path segment, which is removed", async (t) => {
  const table = buildRouteTable(EMPTY_TABLE, hello, registry(t));
  const cases: [string, string, string | undefined][] = [
    ["/hello/a/b?c=1", "/a/b?c=1", "/hello"],
    ["/hello", "/", "/hello"],
    ["/hello?x=1", "/?x=1", "/hello"],
    ["/hello.default/", "/", "/hello.default"],
  ];
  for (const [url, path, prefix] of cases)
    t.match(resolve(table, "127.0.0.1:8080", url, undefined, options), { path, prefix }, url);
  t.match(resolve(table, "127.0.0.1", "/nothing/", undefined, options), { status: 404 });
  t.match(resolve(table, "127.0.0.1", "/hello/", undefined, { ...options, pathRouting: false }), {
    status: 404,
  });
  t.match(
    resolve(table, "hello", "/hello/x", undefined, options),
    { path: "/hello/x", prefix: undefined },
    "a known host keeps its path",
  );
});

t.test(
  "updates: unchanged services keep their route (and split position); the old table is untouched",
  async (t) => {
    const targets = registry(t);
    const first = buildRouteTable(EMPTY_TABLE, hello, targets);
    const other = serviceState("other", [{ revision: "other-00001", percent: 100 }]);
    const withOther = applyEvent(
      applyEvent(hello, {
        type: "revision",
        generation: 2,
        key: "default/other-00001",
        revision: revisionState("other-00001", "other"),
      }),
      { type: "service", generation: 3, key: "default/other", service: other },
    );
    const second = buildRouteTable(first, withOther, targets);
    t.equal(
      second.services.get("default/hello"),
      first.services.get("default/hello"),
      "hello's route is reused",
    );
    t.notOk(first.hosts.has("other"), "the old table never sees the new service");
    t.equal(revisionOf(resolve(second, "other", "/", undefined, options)), "other-00001");
    t.equal(second.generation, 3);

    const changed = applyEvent(withOther, {
      type: "service",
      generation: 4,
      key: "default/hello",
      service: serviceState("hello", [{ revision: "hello-00002", percent: 100 }]),
    });
    const third = buildRouteTable(second, changed, targets);
    t.not(
      third.services.get("default/hello"),
      second.services.get("default/hello"),
      "a changed service is rebuilt",
    );
    t.equal(third.hosts.has("canary-hello.default.example.com"), false, "its old tag host is gone");
    t.equal(revisionOf(resolve(third, "hello", "/", undefined, options)), "hello-00002");
    t.equal(
      second.hosts.has("canary-hello.default.example.com"),
      true,
      "while the previous table still has it",
    );

    const removed = applyEvent(changed, {
      type: "service",
      generation: 5,
      key: "default/other",
      service: null,
    });
    const fourth = buildRouteTable(third, removed, targets);
    t.equal(
      revisionOf(resolve(fourth, "other", "/", undefined, options)),
      "404",
      "a removed service's hosts go",
    );
  },
);

t.test("a revision's mode, endpoints and limits are followed in place", async (t) => {
  const targets = registry(t);
  const table = buildRouteTable(EMPTY_TABLE, hello, targets);
  const target = targets.targetFor("default/hello-00001");
  t.equal(target.mode, "serve");
  t.equal(target.ctx.timeoutMs, 61_000, "revision timeout plus the router's slack");
  const waiter = newWaiter();
  target.enter(waiter);
  t.equal(waiter.origin, "http://activator", "serve mode without a ready pod goes to the activator");
  const next = applyEvent(hello, {
    type: "revision",
    generation: 2,
    key: "default/hello-00001",
    revision: revisionState("hello-00001", "hello", {
      endpoints: [{ pod: "p1", url: "http://pod-1" }],
      containerConcurrency: 1,
    }),
  });
  const after = buildRouteTable(table, next, targets);
  t.equal(
    after.services.get("default/hello"),
    table.services.get("default/hello"),
    "the route itself is unchanged",
  );
  target.enter(waiter);
  t.equal(waiter.origin, "http://pod-1");
  const second = newWaiter();
  target.enter(second);
  t.equal(
    second.origin,
    "http://activator",
    "the only pod is at containerConcurrency: overflow to the activator",
  );
  target.release(waiter);
  target.release(second);
});

t.test("10,000 services: lookups hit one map; an update of one service is cheap", async (t) => {
  const count = 10_000;
  const services = Array.from({ length: count }, (_, i) =>
    serviceState(`svc-${i}`, [{ revision: `svc-${i}-00001`, percent: 100 }]),
  );
  const revisions = Array.from({ length: count }, (_, i) => revisionState(`svc-${i}-00001`, `svc-${i}`));
  const targets = registry(t);
  const state = stateOf(services, revisions);
  const table = buildRouteTable(EMPTY_TABLE, state, targets);
  t.equal(table.hosts.size, count * 3);
  t.equal(
    revisionOf(resolve(table, "svc-9999.default.example.com", "/", undefined, options)),
    "svc-9999-00001",
  );
  const next = applyEvent(state, {
    type: "service",
    generation: 2,
    key: "default/svc-5",
    service: serviceState("svc-5", [{ revision: "svc-5-00001", percent: 100 }], {
      tagged: { hosts: ["tagged-svc-5.default.example.com"], revision: "svc-5-00001" },
    }),
  });
  const updated = buildRouteTable(table, next, targets);
  t.equal(updated.hosts.size, count * 3 + 1);
  let reused = 0;
  for (const [key, route] of updated.services) if (table.services.get(key) === route) reused++;
  t.equal(reused, count - 1, "every other service's route object is reused");
});
