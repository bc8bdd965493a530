import t from "tap";
import { formatStatus } from "../../cli/commands/status.ts";
import type { ServiceStatus, StatusSnapshot } from "../../common/status.ts";

const inactive = (name: string, namespace = "default"): ServiceStatus => ({
  name,
  namespace,
  active: false,
  hosts: [],
  traffic: [],
  revisions: [],
});

const running: ServiceStatus = {
  name: "a",
  namespace: "default",
  active: true,
  hosts: ["a.default.example.com"],
  traffic: [{ revision: "a-00002", percent: 100 }],
  revisions: [
    {
      name: "a-00002",
      desiredPods: 1,
      readyPods: 1,
      pods: 1,
      pendingPods: 0,
      mode: "serve",
      containerConcurrency: 0,
      autoscaling: { metric: "concurrency", target: 100, panicking: false },
      concurrency: { current: 0 },
      rps: { current: 0 },
    },
  ],
};

const snapshot = (services: ServiceStatus[]): StatusSnapshot => ({
  time: 0,
  generation: 1,
  domain: "example.com",
  services,
});

t.test("services from an earlier run are one line after the table", async (t) => {
  const text = formatStatus(snapshot([running, inactive("b"), inactive("c", "staging")]));
  const lines = text.trimEnd().split("\n");
  t.equal(lines.length, 3, "header, a's row, the inactive line");
  t.match(lines[1], /^a\s+a-00002\s+100%/);
  t.equal(lines[2], "inactive (from an earlier run): b, staging/c");
});

t.test("only inactive services: says nothing runs, and names them", async (t) => {
  t.equal(
    formatStatus(snapshot([inactive("b")])),
    "no services running — sluice apply -f service.yaml\ninactive (from an earlier run): b\n",
  );
});

t.test("pending pods are one line per revision after the table", async (t) => {
  const [revision] = running.revisions;
  const waiting = { ...running, revisions: [{ ...revision, desiredPods: 9, pendingPods: 6 }] };
  const lines = formatStatus(snapshot([waiting]))
    .trimEnd()
    .split("\n");
  t.equal(lines.length, 3, "header, a's row, the pending line");
  t.match(lines[1], /^a\s+a-00002\s+100%\s+-\s+9\s+1\s+serve/);
  t.equal(lines[2], "a-00002: 6 pods pending, waiting for room on the machine");
  const one = { ...running, revisions: [{ ...revision, desiredPods: 2, pendingPods: 1 }] };
  t.match(formatStatus(snapshot([one])), /^a-00002: 1 pod pending, waiting for room on the machine$/m);
});

t.test("the local platform's capacity is a line after the table, when the autoscaler has one", async (t) => {
  const capacity = { maxPods: 8, maxStarting: 2, pods: 8, pending: 3 };
  const text = formatStatus({ ...snapshot([running]), capacity });
  t.match(text, /^capacity: 8 of 8 pods, 3 pending; 2 start at once$/m);
  t.match(
    formatStatus({ ...snapshot([running]), capacity: { ...capacity, pods: 1, pending: 0 } }),
    /^capacity: 1 of 8 pods; 2 start at once$/m,
    "no pending part when none wait",
  );
  t.notMatch(formatStatus(snapshot([running])), /capacity/, "none in a cluster");
});
