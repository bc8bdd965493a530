import { revisionKey, serviceKey } from "../common/state.ts";
import { formatProblem, type LoadedService, loadManifests } from "../serving/load.ts";
import { type Revision, revisionFor } from "../serving/revisions.ts";
import { localRunnable, validateServices } from "../serving/validate.ts";
import { namespaceOf, type ServiceEntry } from "./service-entry.ts";

export interface ApplyResult {
  ok: boolean;
  problems: string[];
  applied: { service: string; namespace: string; revision: string; created: boolean }[];
}

/** One service of an apply: the revision its template corresponds to, new or existing. */
export interface PlannedService {
  loaded: LoadedService;
  revision: Revision;
  created: boolean;
}

/**
 * Works out what applying `text` would do, without doing it: every problem (loading, validation,
 * local runnability, revision naming), or the revision each service's template maps to. Pure:
 * `services` is the controller's current table.
 */
export function planApply(
  text: string,
  file: string,
  services: ReadonlyMap<string, ServiceEntry>,
  now: number,
): { problems: string[] } | { planned: PlannedService[] } {
  const { documents, services: loadedServices, problems } = loadManifests(text, file);
  const known = (namespace: string, name: string) =>
    services.get(serviceKey(namespace, name))?.revisions.map((r) => r.revision.name) ?? [];
  // An inactive service runs nothing: its hosts are free until it is applied again.
  const running = [...services.values()].filter((entry) => entry.active).map((entry) => entry.manifest);
  const messages = [...problems, ...validateServices(documents, known, running)].map(formatProblem);
  for (const loaded of loadedServices) {
    const reason = localRunnable(loaded.manifest);
    if (reason) messages.push(`${loaded.file}:${loaded.line}: ${loaded.manifest.metadata.name}: ${reason}`);
  }
  const planned: PlannedService[] = [];
  // A service given more than once is successive versions: each sees the revisions before it.
  const histories = new Map<string, Revision[]>();
  // Revision names are unique per namespace: a new one must not be another service's already.
  const owners = new Map<string, string>();
  for (const entry of services.values())
    for (const runtime of entry.revisions) owners.set(runtime.key, runtime.revision.service);
  for (const loaded of loadedServices) {
    const key = serviceKey(namespaceOf(loaded.manifest), loaded.manifest.metadata.name);
    const history = histories.get(key) ?? services.get(key)?.revisions.map((r) => r.revision) ?? [];
    const result = revisionFor(loaded.manifest, history, now);
    const at = `${loaded.file}:${loaded.line}`;
    if ("error" in result) messages.push(`${at}: ${result.error}`);
    else if (result.created && owners.has(revisionKey(result.revision.namespace, result.revision.name))) {
      const { namespace, name } = result.revision;
      const owner = `${namespace}/${owners.get(revisionKey(namespace, name))}`;
      messages.push(
        `${at}: spec.template.metadata.name: revision ${namespace}/${name} already belongs to service ${owner}; choose another name`,
      );
    } else {
      planned.push({ loaded, ...result });
      if (result.created)
        owners.set(revisionKey(result.revision.namespace, result.revision.name), result.revision.service);
    }
    histories.set(key, "revision" in result && result.created ? [...history, result.revision] : history);
  }
  return messages.length > 0 ? { problems: messages } : { planned };
}

/** What an applied plan answers (PUT /v1/services). */
export function appliedResult(planned: readonly PlannedService[]): ApplyResult {
  return {
    ok: true,
    problems: [],
    applied: planned.map(({ loaded, revision, created }) => ({
      service: loaded.manifest.metadata.name,
      namespace: namespaceOf(loaded.manifest),
      revision: revision.name,
      created,
    })),
  };
}
