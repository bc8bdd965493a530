import t from "tap";
import { prometheusTargets } from "../../autoscaler/prometheus-targets.ts";
import type { ComponentStatus } from "../../common/status.ts";
import type { RevisionPods } from "../../platform/platform.ts";

const component = (name: string, ports: Record<string, number>, state = "running"): ComponentStatus =>
  ({ name, state, ports, restarts: 0, startedAt: "2026-01-01T00:00:00Z" }) as ComponentStatus;

const pods: Record<string, RevisionPods> = {
  "default/hello-00001": {
    key: "default/hello-00001",
    desired: 3,
    pods: [
      { name: "hello-00001-a", phase: "ready", adminUrl: "http://127.0.0.1:4001", restarts: 0, startedAt: 1 },
      {
        name: "hello-00001-b",
        phase: "starting",
        adminUrl: "http://127.0.0.1:4002",
        restarts: 0,
        startedAt: 1,
      },
      { name: "hello-00001-c", phase: "pending", restarts: 0, startedAt: 1 },
    ],
  },
};

t.test("the autoscaler, each reported component's metrics port, and every pod that has one", async (t) => {
  const groups = prometheusTargets({
    self: "127.0.0.1:8090",
    components: [
      component("autoscaler", { port: 8090 }),
      component("activator", { port: 8012, adminPort: 9081 }),
      component("router", { port: 8080, adminPort: 9080, tlsPort: 0 }),
      component("restarting-one", { port: 7000 }, "restarting"),
      component("gone", { port: 7001 }, "stopped"),
    ],
    services: [
      { namespace: "default", name: "hello", revisions: ["hello-00001", "hello-00002"], active: true },
      { namespace: "old", name: "kept", revisions: ["kept-00001"], active: false },
    ],
    pods: (key) => pods[key],
  });
  t.same(groups, [
    { targets: ["127.0.0.1:8090"], labels: { component: "autoscaler" } },
    { targets: ["127.0.0.1:9081"], labels: { component: "activator" } },
    { targets: ["127.0.0.1:9080"], labels: { component: "router" } },
    { targets: ["127.0.0.1:7000"], labels: { component: "restarting-one" } },
    ...["a", "b"].map((p, i) => ({
      targets: [`127.0.0.1:${4001 + i}`],
      labels: {
        component: "queue-proxy",
        namespace: "default",
        service: "hello",
        revision: "hello-00001",
        pod: `hello-00001-${p}`,
      },
    })),
  ]);
});

t.test("alone (no component report, no platform): only itself", async (t) => {
  t.same(
    prometheusTargets({ self: "localhost:1", components: undefined, services: [], pods: () => undefined }),
    [{ targets: ["localhost:1"], labels: { component: "autoscaler" } }],
  );
});
