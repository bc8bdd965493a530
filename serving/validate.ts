import { parseDuration } from "../common/duration.ts";
import { parseAutoscaling, SCHEDULE_ANNOTATION } from "./autoscaling.ts";
import type { ServiceDraft } from "./draft.ts";
import { describeClaim, findCollisions, hostClaims } from "./host-collisions.ts";
import { byPosition, formatPath, type LoadedDocument, type Problem } from "./load.ts";
import { parseSchedule } from "./schedule.ts";
import { validateTraffic } from "./validate-traffic.ts";

export const ROLLOUT_ANNOTATION = "serving.knative.dev/rollout-duration";

/**
 * The checks a schema cannot express: annotation values, traffic, duplicates, host collisions.
 * They run on every document, including those the schema refused (on the part it accepted), so
 * one pass reports every problem of every stage, as Knative's webhook does.
 *
 * `knownRevisions(namespace, service)` lists the revisions that already exist; `running` is the
 * services already there, whose hosts the documents must not take (a document for one of them
 * replaces it). A service may appear more than once when each of its documents names its revision
 * (spec.template.metadata.name): the documents are successive versions, applied in order, and a
 * later one's traffic may refer to the revisions the earlier ones declare.
 */
export function validateServices(
  documents: readonly LoadedDocument[],
  knownRevisions: (namespace: string, service: string) => readonly string[],
  running: readonly ServiceDraft[] = [],
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, LoadedDocument[]>();
  for (const document of documents) {
    const { draft, file } = document;
    const problem = (path: (string | number)[], message: string, key?: string) =>
      problems.push({ file, path: formatPath(path, key), ...document.locate(path, key), message });
    // A bad annotation value: the path names the key, the position is the value's.
    const valueProblem = (path: (string | number)[], message: string, key: string) =>
      problems.push({ file, path: formatPath(path, key), ...document.locate([...path, key]), message });
    const id = identity(document);
    const earlier = id === undefined ? [] : (seen.get(id) ?? []);
    // The same service again is a later version of it (applied in order, as kubectl would), when
    // every one of its documents names its revision; otherwise it is a mistake.
    const pinned = draft.spec?.template?.metadata?.name;
    if (earlier.length > 0) {
      const first = earlier[0];
      const twice = earlier.find((other) => revisionOf(other) === pinned);
      if (pinned === undefined || earlier.some((other) => revisionOf(other) === undefined)) {
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
    if (id !== undefined) seen.set(id, [...earlier, document]);

    const template = draft.spec?.template;
    const annotations = template?.metadata?.annotations;
    const { problems: annotationProblems } = parseAutoscaling(
      annotations,
      template?.spec?.containerConcurrency ?? 0,
    );
    const at = ["spec", "template", "metadata", "annotations"];
    for (const { key, message, onKey } of annotationProblems)
      (onKey ? problem : valueProblem)(at, message, key);
    const schedule = annotations?.[SCHEDULE_ANNOTATION];
    if (schedule !== undefined) {
      for (const message of parseSchedule(schedule).problems) valueProblem(at, message, SCHEDULE_ANNOTATION);
    }
    const rollout = draft.metadata?.annotations?.[ROLLOUT_ANNOTATION];
    if (rollout !== undefined && parseDuration(rollout) === undefined) {
      valueProblem(
        ["metadata", "annotations"],
        `${JSON.stringify(rollout)}: expected a duration like 5m`,
        ROLLOUT_ANNOTATION,
      );
    }
    const serving = (template?.spec?.containers ?? []).filter(
      (container) => (container?.ports?.length ?? 0) > 0,
    );
    if (serving.length > 1)
      problem(
        ["spec", "template", "spec", "containers"],
        "only one container may declare a port (the one that serves)",
      );

    const [namespace, name] = id?.split("/") ?? [];
    const known =
      id === undefined
        ? undefined
        : [...knownRevisions(namespace, name), ...earlier.flatMap((other) => revisionOf(other) ?? [])];
    problems.push(...validateTraffic(document, known));
  }
  problems.push(...validateHosts(documents, running));
  // Reading order: files as given, then by position.
  const order = new Map<string, number>();
  for (const { file } of documents) if (!order.has(file)) order.set(file, order.size);
  return problems.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || byPosition(a, b));
}

/** `namespace/name`, or undefined when the schema rejected either (nothing to compare then). */
function identity(document: LoadedDocument): string | undefined {
  const name = document.draft.metadata?.name;
  if (name === undefined || document.rejected(["metadata", "namespace"])) return undefined;
  return `${document.draft.metadata?.namespace ?? "default"}/${name}`;
}

function revisionOf(document: LoadedDocument): string | undefined {
  return document.draft.spec?.template?.metadata?.name;
}

/**
 * No two services may answer on the same host: a tag host `{tag}-{service}` may not be another
 * service's host, in the documents or among the running services. Each document's service (its
 * last document, when it has several) replaces the running one of that name. The later claim is
 * reported, naming both services.
 */
function validateHosts(documents: readonly LoadedDocument[], running: readonly ServiceDraft[]): Problem[] {
  const last = new Map<string, LoadedDocument>();
  for (const document of documents) {
    const id = identity(document);
    if (id !== undefined) last.set(id, document);
  }
  const replaced = (draft: ServiceDraft) =>
    last.has(`${draft.metadata?.namespace ?? "default"}/${draft.metadata?.name}`);
  const claimants = [
    ...running
      .filter((draft) => !replaced(draft))
      .map((draft) => ({ owner: undefined as LoadedDocument | undefined, claims: hostClaims(draft) })),
    ...[...last.values()].map((document) => ({ owner: document, claims: hostClaims(document.draft) })),
  ];
  return findCollisions(claimants).flatMap(({ claim, owner, other, otherOwner }) => {
    if (owner === undefined) return []; // between running services: not this input's doing
    const where = otherOwner === undefined ? "running" : `${otherOwner.file}:${otherOwner.line}`;
    return [
      {
        file: owner.file,
        path: formatPath(claim.path),
        ...owner.locate(claim.path),
        message: `${describeClaim(claim)} would answer on host ${claim.label}.${claim.namespace}, already the host of ${describeClaim(other)} (${where})`,
      },
    ];
  });
}

/** Why a Service cannot run as local processes, or undefined when it can (or it is not known). */
export function localRunnable(manifest: ServiceDraft): string | undefined {
  const container = manifest.spec?.template?.spec?.containers?.[0];
  if (container === undefined) return undefined;
  if (!container.command || container.command.length === 0) {
    const image = container.image ? ` (image ${container.image})` : "";
    return `containers[0] has no command${image}: local mode runs processes, not images; add command/args to run it here, or deploy it with the Helm chart`;
  }
  return undefined;
}
