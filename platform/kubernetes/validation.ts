import type { ServiceDraft } from "../../serving/draft.ts";
import { loadManifests } from "../../serving/load.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { validateServices } from "../../serving/validate.ts";
import { containerProblems } from "./container-rules.ts";
import { KNATIVE_GROUP } from "./names.ts";

/** Set by the API server, never by the user: not part of what sluice validates. */
const SERVER_METADATA = ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"];

export interface ServiceObjectCheck {
  /** The Service as a Knative manifest, when it has no problem at all. */
  manifest?: ServiceManifest;
  /** Every problem, "path: message", in reading order: what status.conditions says. */
  problems: string[];
}

/**
 * Validates a Service object read from the API server with the code `sluice validate` and the
 * local autoscaler run (serving/load.ts, serving/validate.ts), plus Knative's container rules for
 * Kubernetes (container-rules.ts). The object's own group (serving.sluice.dev) is read as
 * Knative's, its status and server-set metadata are ignored. `knownRevisions` are the service's
 * existing revision names; `others` the namespace's other services (host collisions).
 */
export function checkServiceObject(
  object: Record<string, unknown>,
  knownRevisions: readonly string[],
  others: readonly ServiceDraft[] = [],
): ServiceObjectCheck {
  const { status: _status, ...rest } = object;
  const metadata = { ...(rest.metadata as Record<string, unknown> | undefined) };
  for (const key of SERVER_METADATA) delete metadata[key];
  const asKnative = { ...rest, apiVersion: `${KNATIVE_GROUP}/v1`, metadata };
  const loaded = loadManifests(JSON.stringify(asKnative), "service");
  const problems = [
    ...loaded.problems,
    ...validateServices(loaded.documents, () => knownRevisions, others),
  ].map((problem) => (problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`));
  const manifest = loaded.services[0]?.manifest;
  if (manifest)
    for (const problem of containerProblems(manifest.spec.template))
      problems.push(`${problem.path}: ${problem.message}`);
  return problems.length === 0 && manifest ? { manifest, problems } : { problems };
}
