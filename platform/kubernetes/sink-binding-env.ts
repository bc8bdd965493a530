import type { V1EnvVar } from "@kubernetes/client-node";
import { kindNamed } from "../../eventing/kubernetes/kinds.ts";
import { toDocument } from "../../eventing/kubernetes/to-document.ts";
import type { SourceOptions } from "../../eventing/resources/compile-sources.ts";
import { type SinkBindingManifest, sinkBindingSchema } from "../../eventing/resources/source-manifest.ts";
import { isServiceApi } from "../../eventing/resources/validate.ts";
import { sinkBindingEnv } from "../../eventing/sources/sink-binding.ts";
import type { Revision } from "../../serving/revisions.ts";
import type { KubeObject } from "./informer.ts";

// SinkBinding on Kubernetes: the controller's half. The SinkBindings the cluster holds →
// the K_SINK (K_SINK_ROUTER, K_CE_OVERRIDES) a revision's user containers get, by eventing's own
// pure sinkBindingEnv — the local platform's rule, so a binding selects the same Services
// (by name, or by matchLabels on the revision template's labels) and resolves its sink the same
// way: a Broker → the eventing Service's ingress, a Service → its host (K_SINK) and the router
// (K_SINK_ROUTER), a uri as it is. A binding that does not parse, or names anything but a
// Service, binds nothing here; eventing's status on it says why (Ready False, InvalidSpec).

export const SINK_BINDING_RESOURCE = { group: "sources.knative.dev", version: "v1", plural: "sinkbindings" };

const KIND = kindNamed("SinkBinding");

/** The binding an object holds, or undefined when it cannot bind (eventing reports its problems). */
export function sinkBindingFrom(object: KubeObject): SinkBindingManifest | undefined {
  if (!KIND) return undefined;
  const parsed = sinkBindingSchema.safeParse(toDocument(object, KIND));
  if (!parsed.success) return undefined;
  const { subject } = parsed.data.spec;
  if (subject.kind !== "Service" || !isServiceApi(subject.apiVersion)) return undefined;
  if ((subject.name === undefined) === (subject.selector === undefined)) return undefined;
  if (subject.selector?.matchExpressions !== undefined) return undefined;
  return parsed.data;
}

/** The variables set over `revision`'s user containers' environment; [] when no binding selects it. */
export function sinkEnvVars(
  bindings: readonly SinkBindingManifest[],
  revision: Revision,
  options: SourceOptions,
): V1EnvVar[] {
  const env = sinkBindingEnv(
    bindings,
    { namespace: revision.namespace, name: revision.service, labels: revision.template.metadata?.labels },
    options,
  );
  return Object.entries(env ?? {}).map(([name, value]) => ({ name, value }));
}

/** Parsed bindings by object, parsed again only when an object's resourceVersion moves. */
export class SinkBindingCache {
  readonly #parsed = new Map<
    string,
    { version: string | undefined; binding: SinkBindingManifest | undefined }
  >();

  bindings(objects: readonly KubeObject[]): SinkBindingManifest[] {
    const seen = new Set<string>();
    const out: SinkBindingManifest[] = [];
    for (const object of objects) {
      const key = `${object.metadata?.namespace}/${object.metadata?.name}`;
      seen.add(key);
      const version = object.metadata?.resourceVersion;
      let entry = this.#parsed.get(key);
      if (!entry || entry.version !== version || version === undefined) {
        entry = { version, binding: sinkBindingFrom(object) };
        this.#parsed.set(key, entry);
      }
      if (entry.binding) out.push(entry.binding);
    }
    for (const key of this.#parsed.keys()) if (!seen.has(key)) this.#parsed.delete(key);
    return out;
  }
}
