import t from "tap";
import { request } from "undici";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { waitFor } from "../helpers/processes.ts";

// Without load a revision scales to zero within a second here: keep one pod up.
const MIN_SCALE_1 = 'autoscaling.knative.dev/min-scale: "1"';

t.test("GET /v1/status: services, traffic, pods and real load", async (t) => {
  const autoscaler = await startAutoscaler(t);

  const empty = await autoscaler.status();
  t.match(empty, { generation: 0, domain: "example.com", services: [] }, "no services yet");
  t.type(empty.time, "number");

  await autoscaler.apply(appService("hello", { containerConcurrency: 10, annotations: [MIN_SCALE_1] }));
  let status = await waitFor("hello-00001 ready", async () => {
    const s = await autoscaler.status();
    return s.services[0]?.revisions[0]?.readyPods === 1 ? s : undefined;
  });
  t.same(
    status.services[0],
    {
      name: "hello",
      namespace: "default",
      active: true,
      hosts: ["hello.default.example.com", "hello.default", "hello"],
      traffic: [{ revision: "hello-00001", percent: 100 }],
      latestCreatedRevision: "hello-00001",
      latestReadyRevision: "hello-00001",
      revisions: [
        {
          name: "hello-00001",
          desiredPods: 1,
          readyPods: 1,
          pods: 1,
          pendingPods: 0,
          mode: status.services[0].revisions[0].mode,
          containerConcurrency: 10,
          autoscaling: { metric: "concurrency", target: 10, panicking: false },
          concurrency: status.services[0].revisions[0].concurrency,
          rps: status.services[0].revisions[0].rps,
        },
      ],
    },
    "every field of the service and its revision",
  );
  t.match(status.services[0].revisions[0].concurrency, { current: Number, stable: Number, panic: Number });
  t.notOk("stable" in status.services[0].revisions[0].rps, "the KPA scales on concurrency, not rps");

  // Three requests held open in the pod (straight to its queue-proxy): the pod reports them.
  const pod = (await autoscaler.state()).revisions["default/hello-00001"].endpoints[0].url;
  const held = Array.from({ length: 3 }, () => request(`${pod}/hold`));
  status = await waitFor(
    "the held requests in the revision's concurrency",
    async () => {
      const s = await autoscaler.status();
      const { concurrency } = s.services[0].revisions[0];
      return concurrency.current > 2.99 && (concurrency.stable ?? 0) > 0 && (concurrency.panic ?? 0) > 0
        ? s
        : undefined;
    },
    { timeoutMs: 15_000 },
  );
  t.ok(status.services[0].revisions[0].concurrency.current <= 3.01, "three held requests: concurrency 3");

  // A steady trickle of requests (one per check): their count per second becomes rps.
  status = await waitFor(
    "requests per second from the pod's request counts",
    async () => {
      await (await request(`${pod}/`)).body.text();
      const s = await autoscaler.status();
      return s.services[0].revisions[0].rps.current > 0 ? s : undefined;
    },
    { timeoutMs: 15_000 },
  );
  t.ok(status.services[0].revisions[0].rps.current > 0, "rps > 0 while requests arrive");

  const released = Promise.all(held);
  await (await request(`${pod}/_release`)).body.text();
  t.same(
    (await released).map((res) => res.statusCode),
    [200, 200, 200],
    "held requests released",
  );

  // A second revision and a tagged split: the status shows both, newest first, with tag hosts.
  await autoscaler.apply(
    appService("hello", {
      containerConcurrency: 10,
      annotations: [MIN_SCALE_1],
      version: "v2",
      traffic: `  traffic:
    - revisionName: hello-00001
      percent: 80
      tag: stable
    - latestRevision: true
      percent: 20
      tag: canary
`,
    }),
  );
  status = await waitFor("hello-00002 ready and in the split", async () => {
    const s = await autoscaler.status();
    return s.services[0].latestReadyRevision === "hello-00002" ? s : undefined;
  });
  const [service] = status.services;
  t.same(
    service.revisions.map((r) => r.name),
    ["hello-00002", "hello-00001"],
    "newest revision first",
  );
  t.same(service.traffic, [
    {
      revision: "hello-00001",
      percent: 80,
      tag: "stable",
      tagHosts: ["stable-hello.default.example.com", "stable-hello.default", "stable-hello"],
    },
    {
      revision: "hello-00002",
      percent: 20,
      tag: "canary",
      tagHosts: ["canary-hello.default.example.com", "canary-hello.default", "canary-hello"],
    },
  ]);

  const services = (await (await request(`${autoscaler.url}/v1/services`)).body.json()) as {
    revisions: Record<string, { readyPods: number; concurrency: number; rps: number }>;
  };
  t.match(
    services.revisions["default/hello-00002"],
    { readyPods: Number, concurrency: Number, rps: Number },
    "/v1/services carries the same detail",
  );
});
