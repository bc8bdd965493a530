import { parseDuration } from "../common/duration.ts";
import { parseAutoscaling, SCHEDULE_ANNOTATION } from "./autoscaling.ts";
import type { LoadedService, Problem } from "./load.ts";
import type { ServiceManifest } from "./manifest.ts";
import { parseSchedule } from "./schedule.ts";

export const ROLLOUT_ANNOTATION = "serving.knative.dev/rollout-duration";

/**
 * The checks a schema cannot express: traffic percents, revision references, tags, annotation
 * values, duplicates. `knownRevisions(namespace, service)` lists the revisions that already exist.
 * A service may appear more than once when each of its documents names its revision
 * (spec.template.metadata.name): the documents are successive versions, applied in order, and a
 * later one's traffic may refer to the revisions the earlier ones declare.
 */
export function validateServices(
  services: readonly LoadedService[],
  knownRevisions: (namespace: string, service: string) => readonly string[],
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, LoadedService[]>();
  for (const loaded of services) {
    const { manifest, file } = loaded;
    const problem = (path: (string | number)[], message: string, key?: string) =>
      problems.push({ file, path: pathText(path, key), ...loaded.locate(path, key), message });
    const namespace = manifest.metadata.namespace ?? "default";
    const name = manifest.metadata.name;
    const id = `${namespace}/${name}`;
    // The same service again is a later version of it (applied in order, as kubectl would), when
    // every one of its documents names its revision; otherwise it is a mistake.
    const earlier = seen.get(id) ?? [];
    const pinned = manifest.spec.template.metadata?.name;
    if (earlier.length > 0) {
      const first = earlier[0];
      const twice = earlier.find((other) => other.manifest.spec.template.metadata?.name === pinned);
      if (pinned === undefined || earlier.some((other) => !other.manifest.spec.template.metadata?.name)) {
        problem(
          ["metadata", "name"],
          `service ${id} is defined twice (first at ${first.file}:${first.line}); to declare several revisions of it, give each document its own spec.template.metadata.name`,
        );
      } else if (twice) {
        problem(
          ["spec", "template", "metadata", "name"],
          `revision ${pinned} is declared twice (first at ${twice.file}:${twice.line})`,
        );
      }
    }
    seen.set(id, [...earlier, loaded]);

    const template = manifest.spec.template;
    const { problems: annotationProblems } = parseAutoscaling(
      template.metadata?.annotations,
      template.spec.containerConcurrency ?? 0,
    );
    for (const { key, message } of annotationProblems)
      problem(["spec", "template", "metadata", "annotations"], message, key);
    const schedule = template.metadata?.annotations?.[SCHEDULE_ANNOTATION];
    if (schedule !== undefined) {
      for (const message of parseSchedule(schedule).problems) {
        problem(["spec", "template", "metadata", "annotations"], message, SCHEDULE_ANNOTATION);
      }
    }
    const rollout = manifest.metadata.annotations?.[ROLLOUT_ANNOTATION];
    if (rollout !== undefined && parseDuration(rollout) === undefined) {
      problem(
        ["metadata", "annotations"],
        `${JSON.stringify(rollout)}: expected a duration like 5m`,
        ROLLOUT_ANNOTATION,
      );
    }
    const ports = template.spec.containers.filter((container) => (container.ports?.length ?? 0) > 0);
    if (ports.length > 1)
      problem(
        ["spec", "template", "spec", "containers"],
        "only one container may declare a port (the one that serves)",
      );

    const declaredEarlier = earlier.flatMap((other) => other.manifest.spec.template.metadata?.name ?? []);
    problems.push(...validateTraffic(loaded, [...knownRevisions(namespace, name), ...declaredEarlier]));
  }
  return problems;
}

function pathText(path: (string | number)[], key?: string): string {
  const base = path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${part}`))
    .join("");
  return key === undefined ? base : `${base}["${key}"]`;
}

function validateTraffic(loaded: LoadedService, known: readonly string[]): Problem[] {
  const { manifest, file } = loaded;
  const traffic = manifest.spec.traffic;
  if (traffic === undefined) return [];
  const problems: Problem[] = [];
  const problem = (path: (string | number)[], message: string) =>
    problems.push({ file, path: pathText(path), ...loaded.locate(path), message });
  if (traffic.length === 0)
    problem(["spec", "traffic"], "must not be empty (leave it out for 100% to the latest revision)");
  const creating = manifest.spec.template.metadata?.name;
  const tags = new Map<string, number>();
  let sum = 0;
  traffic.forEach((entry, index) => {
    const at = ["spec", "traffic", index];
    const latest = entry.latestRevision === true;
    if (latest && entry.revisionName !== undefined)
      problem(at, "set either revisionName or latestRevision: true, not both");
    if (!latest && entry.revisionName === undefined) problem(at, "set revisionName or latestRevision: true");
    if (
      entry.revisionName !== undefined &&
      !known.includes(entry.revisionName) &&
      entry.revisionName !== creating
    ) {
      const available =
        known.length > 0 ? ` (existing: ${known.join(", ")})` : " (the service has no revisions yet)";
      problem([...at, "revisionName"], `revision ${entry.revisionName} does not exist${available}`);
    }
    if (entry.tag !== undefined) {
      const first = tags.get(entry.tag);
      if (first !== undefined)
        problem([...at, "tag"], `tag ${entry.tag} is already used by spec.traffic[${first}]`);
      else tags.set(entry.tag, index);
      if (`${entry.tag}-${manifest.metadata.name}`.length > 63) {
        problem(
          [...at, "tag"],
          `tag host label ${entry.tag}-${manifest.metadata.name} is longer than 63 characters`,
        );
      }
    }
    sum += entry.percent ?? 0;
  });
  if (traffic.length > 0 && sum !== 100) problem(["spec", "traffic"], `percents sum to ${sum}, not 100`);
  return problems;
}

/** Why a Service cannot run as local processes, or undefined when it can. */
export function localRunnable(manifest: ServiceManifest): string | undefined {
  const container = manifest.spec.template.spec.containers[0];
  if (!container.command || container.command.length === 0) {
    const image = container.image ? ` (image ${container.image})` : "";
    return `containers[0] has no command${image}: local mode runs processes, not images; add command/args to run it here, or deploy it with the Helm chart`;
  }
  return undefined;
}
