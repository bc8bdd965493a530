import { byPosition, type Problem } from "../../serving/load.ts";
import { parsePingSchedule } from "../sources/ping-schedule.ts";
import { EVENTING_API, type LoadedEventing, type Located } from "./load.ts";
import type { Destination } from "./manifest.ts";
import type { SourceManifest } from "./source-manifest.ts";
import { checkDelivery, isHttpUrl, isServiceApi, type Path, problem, SERVICE_API } from "./validate.ts";

// What the source schemas cannot say, as Knative's webhooks check it (and what sluice cannot do
// yet, said as such): a sink sluice can reach (a Service, a Broker of the set, or a URL), cron
// schedules and time zones, data or dataBase64, Kafka servers and topics, GitHub event types,
// NATS subjects, SinkBinding subjects, and duplicates. Every problem with file:line:col.

/** The GitHubSource CRD's enum of event types (the "Webhook event name" values). */
export const GITHUB_EVENT_TYPES = new Set(
  "check_run check_suite commit_comment create delete deployment deployment_status fork gollum installation integration_installation issue_comment issues label member membership milestone organization org_block page_build ping project_card project_column project public pull_request pull_request_review pull_request_review_comment push release repository status team team_add watch".split(
    " ",
  ),
);

/** A NATS subject: dot-separated tokens, `*` for one token, `>` for the rest (last only). */
const NATS_SUBJECT = /^(?:[^.\s*>]+|\*)(?:\.(?:[^.\s*>]+|\*))*(?:\.>)?$|^>$/;

/**
 * Problems in the sources and SinkBindings of `loaded`. `knownBrokers` ("namespace/name") are
 * Brokers that exist beyond this set, as for validateEventing.
 */
export function validateSources(
  loaded: LoadedEventing,
  knownBrokers: ReadonlySet<string> = new Set(),
): Problem[] {
  const problems: Problem[] = [];
  const brokers = new Set(knownBrokers);
  for (const b of loaded.brokers)
    brokers.add(`${b.manifest.metadata.namespace ?? "default"}/${b.manifest.metadata.name}`);
  const seen = new Map<string, Located<unknown>>();
  for (const doc of [...loaded.sources, ...loaded.sinkBindings]) {
    const { kind, metadata } = doc.manifest;
    const id = `${kind} ${metadata.namespace ?? "default"}/${metadata.name}`;
    const first = seen.get(id);
    if (first)
      problem(problems, doc, ["metadata", "name"], `${id} is also defined at ${first.file}:${first.line}`);
    else seen.set(id, doc);
    const namespace = metadata.namespace ?? "default";
    checkSink(problems, doc, ["spec", "sink"], doc.manifest.spec.sink, namespace, brokers);
    if (doc.manifest.kind === "SinkBinding") {
      const { subject } = doc.manifest.spec;
      if (subject.kind !== "Service" || subject.apiVersion === undefined || !isServiceApi(subject.apiVersion))
        problem(
          problems,
          doc,
          ["spec", "subject"],
          `sluice injects K_SINK into ${SERVICE_API} Services only (found ${subject.apiVersion} ${subject.kind})`,
        );
      if ((subject.name === undefined) === (subject.selector === undefined))
        problem(problems, doc, ["spec", "subject"], "needs exactly one of name and selector");
      if (subject.selector?.matchExpressions !== undefined)
        problem(
          problems,
          doc,
          ["spec", "subject", "selector", "matchExpressions"],
          "not supported: use matchLabels",
        );
      continue;
    }
    checkSource(problems, doc as Located<SourceManifest>);
  }
  return problems.sort(byPosition);
}

function checkSource(problems: Problem[], doc: Located<SourceManifest>): void {
  const source = doc.manifest;
  switch (source.kind) {
    case "KafkaSource": {
      const { spec } = source;
      if (spec.bootstrapServers.length === 0)
        problem(problems, doc, ["spec", "bootstrapServers"], "needs at least one server (host:port)");
      spec.bootstrapServers.forEach((entry, i) => {
        for (const server of entry.split(","))
          if (!/^[^\s:/]+:\d{1,5}$/.test(server.trim()))
            problem(problems, doc, ["spec", "bootstrapServers", i], `"${server.trim()}" is not host:port`);
      });
      if (spec.topics.length === 0) problem(problems, doc, ["spec", "topics"], "needs at least one topic");
      spec.topics.forEach((topic, i) => {
        if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic))
          problem(problems, doc, ["spec", "topics", i], `"${topic}" is not a Kafka topic name`);
      });
      if (spec.net?.sasl?.enable || spec.net?.tls?.enable)
        problem(problems, doc, ["spec", "net"], "SASL and TLS to Kafka are not supported by sluice yet");
      if (spec.delivery) checkDelivery(problems, doc, ["spec", "delivery"], spec.delivery);
      return;
    }
    case "PingSource": {
      const { spec } = source;
      const schedule = parsePingSchedule(spec.schedule, spec.timezone);
      if ("problem" in schedule) problem(problems, doc, ["spec", schedule.field], schedule.problem);
      // A bad time zone stops the parse before the schedule: the schedule on its own, too.
      const alone =
        "problem" in schedule && schedule.field === "timezone"
          ? parsePingSchedule(spec.schedule, undefined)
          : undefined;
      if (alone && "problem" in alone) problem(problems, doc, ["spec", "schedule"], alone.problem);
      if (spec.data !== undefined && spec.dataBase64 !== undefined)
        problem(problems, doc, ["spec", "dataBase64"], "data and dataBase64 are mutually exclusive");
      if (spec.dataBase64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(spec.dataBase64.replace(/\s/g, "")))
        problem(problems, doc, ["spec", "dataBase64"], "is not base64");
      return;
    }
    case "GitHubSource": {
      const { spec } = source;
      spec.eventTypes.forEach((type, i) => {
        if (!GITHUB_EVENT_TYPES.has(type))
          problem(problems, doc, ["spec", "eventTypes", i], `"${type}" is not a GitHub webhook event name`);
      });
      if (!spec.secretToken.secretKeyRef)
        problem(
          problems,
          doc,
          ["spec", "secretToken"],
          "needs secretKeyRef: sluice verifies every delivery's X-Hub-Signature-256 with it",
        );
      return;
    }
    case "NatsSource": {
      const { spec } = source;
      (spec.servers ?? []).forEach((server, i) => {
        if (!/^(nats|tls):\/\/[^/\s]+$/.test(server))
          problem(problems, doc, ["spec", "servers", i], `"${server}" is not nats://host:port`);
      });
      if (!NATS_SUBJECT.test(spec.subject))
        problem(problems, doc, ["spec", "subject"], `"${spec.subject}" is not a NATS subject`);
      if (spec.queueGroup !== undefined && !/^[^\s]+$/.test(spec.queueGroup))
        problem(problems, doc, ["spec", "queueGroup"], "must not contain white space");
      if (spec.delivery) checkDelivery(problems, doc, ["spec", "delivery"], spec.delivery);
      return;
    }
  }
}

/** A source's sink: a uri, a sluice Service, or a Broker of the set (→ its ingress). */
function checkSink(
  problems: Problem[],
  doc: Located<unknown>,
  path: Path,
  dest: Destination,
  namespace: string,
  brokers: ReadonlySet<string>,
): void {
  if (!dest.ref && !dest.uri) {
    problem(problems, doc, path, "needs a ref (a Service or a Broker) or a uri");
    return;
  }
  if (dest.ref) {
    const { apiVersion, kind, name, namespace: refNamespace } = dest.ref;
    const isBroker = kind === "Broker" && (apiVersion === undefined || apiVersion === EVENTING_API);
    const isService = kind === "Service" && isServiceApi(apiVersion);
    if (!isBroker && !isService)
      problem(
        problems,
        doc,
        [...path, "ref"],
        `sluice resolves a sink ref to a ${SERVICE_API} Service or an ${EVENTING_API} Broker; use a uri for anything else`,
      );
    if (refNamespace !== undefined && refNamespace !== namespace)
      problem(
        problems,
        doc,
        [...path, "ref", "namespace"],
        `must be the source's own namespace "${namespace}"`,
      );
    if (isBroker && !brokers.has(`${namespace}/${name}`))
      problem(problems, doc, [...path, "ref", "name"], `no Broker "${name}" in namespace "${namespace}"`);
    if (isBroker && dest.uri !== undefined)
      problem(problems, doc, [...path, "uri"], "a Broker sink takes no uri: events go to its ingress");
  }
  if (dest.uri !== undefined && !dest.ref && !isHttpUrl(dest.uri))
    problem(problems, doc, [...path, "uri"], "must be an absolute http:// or https:// URL");
  if (dest.uri !== undefined && dest.ref?.kind === "Service" && !dest.uri.startsWith("/"))
    problem(problems, doc, [...path, "uri"], "with a ref, uri must be a path starting with /");
}
