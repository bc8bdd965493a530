// The Eventing kinds the API server holds (the chart's eventing-crds/), as the informers watch them.
// Each is watched at one version: the API server serves every object of a kind at any of its
// versions (KafkaSource's v1beta1 objects come back as v1, the same shape), so one list is all.

export interface EventingKind {
  kind: string;
  group: string;
  /** The version watched, and the apiVersion documents are validated as. */
  version: string;
  plural: string;
}

export const EVENTING_KINDS: readonly EventingKind[] = [
  { kind: "Broker", group: "eventing.knative.dev", version: "v1", plural: "brokers" },
  { kind: "Trigger", group: "eventing.knative.dev", version: "v1", plural: "triggers" },
  { kind: "KafkaSource", group: "sources.knative.dev", version: "v1", plural: "kafkasources" },
  { kind: "PingSource", group: "sources.knative.dev", version: "v1", plural: "pingsources" },
  { kind: "SinkBinding", group: "sources.knative.dev", version: "v1", plural: "sinkbindings" },
  { kind: "GitHubSource", group: "sources.knative.dev", version: "v1alpha1", plural: "githubsources" },
  { kind: "NatsSource", group: "sources.sluice.dev", version: "v1", plural: "natssources" },
];

export function kindNamed(kind: string): EventingKind | undefined {
  return EVENTING_KINDS.find((k) => k.kind === kind);
}

/** How a resource is named in logs and problems: "Trigger shop/orders". */
export function resourceId(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}
