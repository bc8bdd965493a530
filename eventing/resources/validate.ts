import { byPosition, formatPath, type Problem } from "../../serving/load.ts";
import { parseIsoDuration } from "./iso-duration.ts";
import type { LoadedEventing, Located } from "./load.ts";
import type { DeliverySpec, Destination, SubscriptionsFilter } from "./manifest.ts";

// The checks a schema cannot express, the ones Knative's webhook makes: one operator per filter,
// one attribute per exact/prefix/suffix, durations, destinations sluice can reach, duplicates,
// and a Broker for every Trigger. Every problem of every document in one pass.

/** A CloudEvents attribute name: lower-case letters and digits (CloudEvents 1.0, 3.1.1). */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
const OPERATORS = ["exact", "prefix", "suffix", "all", "any", "not", "cesql"] as const;
export const SERVICE_API = "serving.knative.dev/v1";
/** The chart's own serving group (servingGroup=serving.sluice.dev): the same Service. */
const SLUICE_SERVICE_API = "serving.sluice.dev/v1";

/** A ref's apiVersion names a sluice Service: Knative's group, sluice's own, or none given. */
export const isServiceApi = (apiVersion: string | undefined): boolean =>
  apiVersion === undefined || apiVersion === SERVICE_API || apiVersion === SLUICE_SERVICE_API;

export type Path = (string | number)[];

/**
 * Problems in `loaded`. `knownBrokers` lists brokers that exist already ("namespace/name"), so a
 * Trigger may be applied apart from its Broker.
 */
export function validateEventing(
  loaded: LoadedEventing,
  knownBrokers: ReadonlySet<string> = new Set(),
): Problem[] {
  const problems: Problem[] = [];
  const brokers = new Set(knownBrokers);
  const seen = new Map<string, Located<unknown>>();
  const all: [string, Located<{ metadata: { name: string; namespace?: string } }>][] = [
    ...loaded.brokers.map((b) => ["Broker", b] as [string, typeof b]),
    ...loaded.triggers.map((t) => ["Trigger", t] as [string, typeof t]),
  ];
  for (const [kind, doc] of all) {
    const id = `${kind} ${doc.manifest.metadata.namespace ?? "default"}/${doc.manifest.metadata.name}`;
    const first = seen.get(id);
    if (first)
      problem(problems, doc, ["metadata", "name"], `${id} is also defined at ${first.file}:${first.line}`);
    else seen.set(id, doc);
    if (kind === "Broker")
      brokers.add(`${doc.manifest.metadata.namespace ?? "default"}/${doc.manifest.metadata.name}`);
  }
  for (const broker of loaded.brokers) {
    if (broker.manifest.spec?.delivery)
      checkDelivery(problems, broker, ["spec", "delivery"], broker.manifest.spec.delivery);
  }
  for (const trigger of loaded.triggers) {
    const { metadata, spec } = trigger.manifest;
    const namespace = metadata.namespace ?? "default";
    if (!brokers.has(`${namespace}/${spec.broker}`))
      problem(
        problems,
        trigger,
        ["spec", "broker"],
        `no Broker "${spec.broker}" in namespace "${namespace}"`,
      );
    for (const name of Object.keys(spec.filter?.attributes ?? {}))
      if (!ATTRIBUTE_NAME.test(name))
        problem(
          problems,
          trigger,
          ["spec", "filter", "attributes"],
          "not a CloudEvents attribute name (lower-case letters and digits)",
          name,
        );
    (spec.filters ?? []).forEach((filter, i) => {
      checkFilter(problems, trigger, ["spec", "filters", i], filter);
    });
    checkDestination(problems, trigger, ["spec", "subscriber"], spec.subscriber, namespace);
    if (spec.delivery) checkDelivery(problems, trigger, ["spec", "delivery"], spec.delivery);
  }
  return problems.sort(byPosition);
}

export function problem(
  problems: Problem[],
  doc: Located<unknown>,
  path: Path,
  message: string,
  key?: string,
): void {
  problems.push({ file: doc.file, path: formatPath(path, key), ...doc.locate(path, key), message });
}

function checkFilter(
  problems: Problem[],
  doc: Located<unknown>,
  path: Path,
  filter: SubscriptionsFilter,
): void {
  const used = OPERATORS.filter((op) => filter[op] !== undefined);
  if (used.length !== 1) {
    const found = used.length === 0 ? "none" : used.join(", ");
    problem(problems, doc, path, `a filter takes exactly one of ${OPERATORS.join(", ")} (found ${found})`);
    return;
  }
  const op = used[0];
  if (op === "cesql") {
    problem(
      problems,
      doc,
      [...path, op],
      "CESQL filters are not supported by sluice yet; use exact, prefix, suffix, all, any, not",
    );
  } else if (op === "exact" || op === "prefix" || op === "suffix") {
    const entries = Object.entries(filter[op] ?? {});
    if (entries.length !== 1)
      problem(problems, doc, [...path, op], `${op} takes exactly one attribute (found ${entries.length})`);
    for (const [name, value] of entries) {
      if (!ATTRIBUTE_NAME.test(name))
        problem(
          problems,
          doc,
          [...path, op],
          "not a CloudEvents attribute name (lower-case letters and digits)",
          name,
        );
      if (value === "") problem(problems, doc, [...path, op, name], `${op} needs a non-empty value`);
    }
  } else if (op === "all" || op === "any") {
    const list = filter[op] ?? [];
    if (list.length === 0) problem(problems, doc, [...path, op], `${op} needs at least one filter`);
    list.forEach((inner, i) => {
      checkFilter(problems, doc, [...path, op, i], inner);
    });
  } else if (filter.not) {
    checkFilter(problems, doc, [...path, "not"], filter.not);
  }
}

function checkDestination(
  problems: Problem[],
  doc: Located<unknown>,
  path: Path,
  dest: Destination,
  namespace: string,
): void {
  if (!dest.ref && !dest.uri) {
    problem(problems, doc, path, "needs a ref (a Service) or a uri");
    return;
  }
  if (dest.ref) {
    const { apiVersion, kind, namespace: refNamespace } = dest.ref;
    if (kind !== "Service" || !isServiceApi(apiVersion))
      problem(
        problems,
        doc,
        [...path, "ref"],
        `sluice resolves refs to a ${SERVICE_API} (or ${SLUICE_SERVICE_API}) Service only; use a uri for anything else`,
      );
    if (refNamespace !== undefined && refNamespace !== namespace)
      problem(
        problems,
        doc,
        [...path, "ref", "namespace"],
        `must be the Trigger's own namespace "${namespace}"`,
      );
  }
  if (dest.uri !== undefined) {
    if (dest.ref) {
      // With a ref, Knative resolves the uri against the ref's address: a path.
      if (!dest.uri.startsWith("/"))
        problem(problems, doc, [...path, "uri"], "with a ref, uri must be a path starting with /");
    } else if (!isHttpUrl(dest.uri)) {
      problem(problems, doc, [...path, "uri"], "must be an absolute http:// or https:// URL");
    }
  }
}

export function checkDelivery(
  problems: Problem[],
  doc: Located<unknown>,
  path: Path,
  delivery: DeliverySpec,
): void {
  for (const field of ["backoffDelay", "timeout", "retryAfterMax"] as const) {
    const text = delivery[field];
    if (text === undefined) continue;
    const ms = parseIsoDuration(text);
    if (ms === undefined)
      problem(problems, doc, [...path, field], `"${text}" is not an ISO-8601 duration (e.g. PT0.2S, PT1M)`);
    else if (field === "timeout" && ms <= 0)
      problem(problems, doc, [...path, field], "must be longer than zero");
  }
  if (delivery.deadLetterSink) {
    const namespace =
      (doc.manifest as { metadata?: { namespace?: string } }).metadata?.namespace ?? "default";
    checkDestination(problems, doc, [...path, "deadLetterSink"], delivery.deadLetterSink, namespace);
  }
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
