import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SourceOptions } from "../eventing/resources/compile-sources.ts";
import type { SinkBindingManifest } from "../eventing/resources/source-manifest.ts";
import { sinkBindingEnv } from "../eventing/sources/sink-binding.ts";
import type { Revision } from "../serving/revisions.ts";

// SinkBinding on the local platform: a Service a SinkBinding selects gets K_SINK (and
// K_SINK_ROUTER, K_CE_OVERRIDES) in its pods' environment, resolved by eventing's pure
// sinkBindingEnv. `sluice up` writes the bindings of its files, and where the router and the
// Broker ingress are, to {state dir}/sink-bindings.json before it starts the autoscaler; a
// revision's pod template reads them when the revision is taken up (created, or restored by a
// restarted autoscaler), as Knative's webhook injects into the pod template.

export const SINK_BINDINGS_FILE = "sink-bindings.json";

export interface SinkBindingsFile {
  options: SourceOptions;
  bindings: SinkBindingManifest[];
}

/** The environment the bindings in `stateDir` give `revision`'s pods; {} when none applies. */
export function sinkEnvFor(stateDir: string, revision: Revision): Record<string, string> {
  let file: SinkBindingsFile;
  try {
    file = JSON.parse(readFileSync(join(stateDir, SINK_BINDINGS_FILE), "utf8")) as SinkBindingsFile;
  } catch {
    return {}; // no file: no SinkBinding in this installation
  }
  const env = sinkBindingEnv(
    file.bindings,
    {
      namespace: revision.namespace,
      name: revision.service,
      labels: revision.template.metadata?.labels,
    },
    file.options,
  );
  return env ? { ...env } : {};
}
