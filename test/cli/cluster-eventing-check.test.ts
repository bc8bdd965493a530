// The pure parts of Eventing against a cluster: the files checked as one input with their
// namespaces placed (-n, the file's own, a mismatch), a Trigger's and a sink's Broker looked for in
// the files plus the cluster's, and the status tables from the statuses eventing writes.
import t from "tap";
import { checkClusterEventing, referencedBrokers } from "../../cli/cluster/eventing-check.ts";
import { formatEventingStatus } from "../../cli/cluster/format-eventing-status.ts";
import type { EventingEntry } from "../../cli/cluster/read-eventing-status.ts";
import { loadEventingManifests } from "../../eventing/resources/load.ts";

const FILES = [
  {
    file: "a.yaml",
    text: `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
spec:
  broker: default
  subscriber:
    uri: http://x.example.com/
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: beat
  namespace: shop
spec:
  schedule: "* * * * *"
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: events
`,
  },
];
const here = { namespace: "shop", namespaceGiven: false };

t.test("namespaces: none → the target's; another with -n → a problem at its position", async (t) => {
  const checked = checkClusterEventing(FILES, here, new Set(["shop/default", "shop/events"]));
  t.same(checked.problems, []);
  t.same(
    checked.documents.map((d) => [d.manifest.kind, d.manifest.metadata.namespace, d.line]),
    [
      ["Trigger", "shop", 1],
      ["PingSource", "shop", 10],
    ],
  );
  t.same(checked.summaries, [
    "Trigger shop/orders on Broker default → http://x.example.com/",
    "PingSource shop/beat",
  ]);

  const given = checkClusterEventing(FILES, { namespace: "prod", namespaceGiven: true }, "unknown");
  t.same(given.problems, [
    "a.yaml:14:14: metadata.namespace: namespace shop does not match -n prod; give -n shop or leave the namespace out of the file",
  ]);
});

t.test("Brokers: unknown before the cluster is asked; then the files' and the cluster's", async (t) => {
  t.same(checkClusterEventing(FILES, here, "unknown").problems, [], "offline: every Broker named may exist");
  const none = checkClusterEventing(FILES, here, new Set(["shop/default"]));
  t.same(none.problems, ['a.yaml:21:13: spec.sink.ref.name: no Broker "events" in namespace "shop"']);
  const declared = checkClusterEventing(
    [
      ...FILES,
      {
        file: "b.yaml",
        text: "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: events\n",
      },
    ],
    here,
    new Set(["shop/default"]),
  );
  t.same(declared.problems, [], "a Broker in the files counts");
  const loaded = loadEventingManifests(FILES[0].text, "a.yaml");
  t.same([...referencedBrokers(loaded)], ["default/default", "shop/events"]);
});

const entry = (kind: string, name: string, status?: EventingEntry["status"], extra = {}): EventingEntry => ({
  kind,
  namespace: "default",
  name,
  generation: 1,
  ...(status ? { status } : {}),
  ...extra,
});
const at = "2026-01-01T00:00:00Z";

t.test("the status tables and why whatever is not ready is not", async (t) => {
  const text = formatEventingStatus({
    brokers: [
      entry("Broker", "default", {
        observedGeneration: 1,
        address: { url: "http://ingress/default/default" },
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: at }],
      }),
    ],
    triggers: [
      entry(
        "Trigger",
        "orders",
        {
          observedGeneration: 0,
          conditions: [
            { type: "Ready", status: "False", reason: "InvalidSpec", message: "bad", lastTransitionTime: at },
          ],
        },
        { broker: "default" },
      ),
    ],
    sources: [entry("KafkaSource", "feed")],
    unreadable: ["forbidden: cannot list natssources.sources.sluice.dev in namespace default"],
  });
  t.equal(
    text,
    `
BROKER   ADDRESS                         READY  REASON
default  http://ingress/default/default  True   -

TRIGGER  BROKER   SUBSCRIBER URI  READY  REASON
orders   default  -               False  InvalidSpec

SOURCE  KIND         SINK URI  READY  REASON
feed    KafkaSource  -         -      -

Trigger orders: Ready False: InvalidSpec: bad
Trigger orders: generation 1 not seen by eventing yet (the status is of generation 0)
KafkaSource feed: no status yet; is sluice's eventing component running?
eventing: forbidden: cannot list natssources.sources.sluice.dev in namespace default
`,
  );
  t.equal(
    formatEventingStatus({ brokers: [], triggers: [], sources: [], unreadable: [] }),
    "",
    "nothing: nothing",
  );
  const all = formatEventingStatus(
    { brokers: [entry("Broker", "default")], triggers: [], sources: [], unreadable: [] },
    true,
  );
  t.match(all, /^default\/default +- +- +-$/m, "with -A, the namespace");
});
