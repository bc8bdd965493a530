import { parseArgs } from "node:util";
import { request } from "undici";
import type { StatusSnapshot } from "../../common/status.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { canonicalJson } from "../../serving/revisions.ts";
import { checkAgainstRunning, EventingApplyError, sendEventing } from "../apply-eventing.ts";
import { answered, authHeaders, autoscalerBase, DEFAULT_AUTOSCALER, unreachable } from "../autoscaler-url.ts";
import { applyToCluster } from "../cluster/apply-services.ts";
import {
  CLUSTER_OPTIONS,
  type ClusterTarget,
  clusterHelp,
  clusterTarget,
  conflictingOptions,
  TargetError,
} from "../cluster/target.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { splitFiles } from "../eventing-files.ts";
import { eventingBase, eventingFromStatus, noEventing } from "../eventing-url.ts";
import { checkServices, describeTraffic, readServiceFiles, serviceId } from "../service-files.ts";

const REQUEST_TIMEOUT_MS = 30_000;

const HELP = `usage: sluice apply -f FILE [-f FILE…] [--autoscaler URL]
       sluice apply -f FILE [-f FILE…] (--kubeconfig PATH | --context NAME | --cluster) [-n NS] [--group G]

Sends Service files to a running sluice (the autoscaler's PUT /v1/services) and prints what
changed: new revisions and traffic splits.

Applying adds or updates the services in the files and never deletes others. The files are first
checked here, together, against the revisions the autoscaler has: any problem and nothing is
sent. Then each file goes in its own request, in the order given (a directory's files in name
order); each file is all or nothing. Should the autoscaler still refuse one, the files before it
stay applied and the rest are not sent; the output says which.

With a cluster (--kubeconfig, --context, --cluster or --group), the files are checked the same
way, plus Knative's container rules for Kubernetes and against the cluster's revisions and
services; then every Service goes through a server-side dry run (the CRD's schema and CEL rules);
only when all of them pass are they written, each with server-side apply (field manager sluice,
forced) into its namespace, apiVersion set to the chosen group. apiVersion serving.sluice.dev/v1
is accepted in the files then. One line per document: created, configured or unchanged.
Brokers, Triggers, SinkBindings and sources in the files are part of it there: checked here with
eventing's own checks (a Trigger's Broker must be in the files or on the cluster), dry-run, then
applied with the Services, into their own groups (eventing.knative.dev, sources.knative.dev,
sources.sluice.dev; the chart's eventing.enabled installs the CRDs): "Broker default/default:
created". Nothing of any kind is written unless every document passes.

Locally, Brokers, Triggers, SinkBindings and sources (KafkaSource, PingSource, GitHubSource,
NatsSource) in the files (beside the Services or alone) go to the eventing component that sluice
up runs (its PUT /v1/eventing; the autoscaler's GET /v1/status says where it is): checked here
first against the Brokers that run, sent after the Services, one request per file, merged into
what runs (same kind, namespace and name replaces; nothing is deleted; a changed source restarts,
an unchanged one keeps running); one line per resource: created, configured or unchanged.

options:
  -f, --filename FILE  a Service file (YAML or JSON, --- between documents) or a directory
                       (its *.yaml, *.yml and *.json files); repeatable
  --autoscaler URL     the autoscaler (default ${DEFAULT_AUTOSCALER})
  --eventing URL       the eventing admin API (default: as the autoscaler reports it)
  -h, --help           show this help

${clusterHelp(false)}

exit codes: 0 applied, 1 the autoscaler or the cluster cannot be reached or failed (with a
cluster: the API server refused a document, e.g. a CEL rule, or a CRD is missing, or the call is
forbidden), 2 invalid input (every problem is printed as file:line:column: path: message) or
bad usage`;

interface ServiceListing {
  services: { manifest: ServiceManifest; revisions: string[] }[];
}

interface ApplyAnswer {
  ok: boolean;
  problems: string[];
  applied: { service: string; namespace: string; revision: string; created: boolean }[];
}

class Failed extends Error {}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      filename: { type: "string", short: "f", multiple: true, default: [] },
      autoscaler: { type: "string" },
      eventing: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      ...CLUSTER_OPTIONS,
    },
    strict: true,
    allowPositionals: true,
  });
}

async function call(base: string, path: string, options: { method?: "GET" | "PUT"; body?: string } = {}) {
  try {
    const res = await request(`${base}${path}`, {
      method: options.method ?? "GET",
      body: options.body,
      headers: { accept: "application/json", "content-type": "application/yaml", ...authHeaders() },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (error) {
    throw new Failed(unreachable(base, error));
  }
}

function json<T>(base: string, path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Failed(`${base}${path} did not answer JSON; is ${base} a sluice autoscaler?`);
  }
}

/** What changed for one service: "hello: new service; revisions hello-00001 (new); traffic …". */
function describeChange(
  manifest: ServiceManifest,
  applied: ApplyAnswer["applied"],
  before: ServiceListing["services"][number] | undefined,
): string {
  const created = applied.filter((a) => a.created).map((a) => a.revision);
  const kept = [...new Set(applied.filter((a) => !a.created).map((a) => a.revision))];
  const parts: string[] = [];
  if (!before) parts.push("new service");
  if (created.length > 0) parts.push(`new revision${created.length === 1 ? "" : "s"} ${created.join(", ")}`);
  const traffic = describeTraffic(manifest.spec.traffic);
  const previous = before ? describeTraffic(before.manifest.spec.traffic) : undefined;
  if (previous === undefined) parts.push(`traffic ${traffic}`);
  else if (previous !== traffic) parts.push(`traffic ${traffic} (was ${previous})`);
  if (parts.length === 0) {
    const same = before && canonicalJson(before.manifest) === canonicalJson(manifest);
    parts.push(
      `${same ? "unchanged" : "updated, no new revision"} (revision${kept.length === 1 ? "" : "s"} ${kept.join(", ")}; traffic ${traffic})`,
    );
  }
  return `${serviceId(manifest)}: ${parts.join("; ")}`;
}

export const apply: Command = async (args) => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    console.error(`sluice apply: ${(error as Error).message}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  let target: ClusterTarget | undefined;
  try {
    target = clusterTarget(values);
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    console.error(`sluice apply: ${error.message}`);
    return EXIT_USAGE;
  }
  const conflict = conflictingOptions(target, values, false);
  if (conflict) {
    console.error(`sluice apply: ${conflict}`);
    return EXIT_USAGE;
  }
  const paths = [...values.filename, ...positionals];
  if (paths.length === 0) {
    console.error(`sluice apply: no files: give -f FILE or -f DIRECTORY\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (target && values.eventing !== undefined) {
    console.error(
      "sluice apply: --eventing is for a local sluice; with a cluster the Eventing resources go to the API server",
    );
    return EXIT_USAGE;
  }
  if (target) return applyToCluster(target, paths, { write: true, command: "sluice apply" });
  const autoscaler = values.autoscaler ?? DEFAULT_AUTOSCALER;
  const base = autoscalerBase(autoscaler);
  if (base === undefined) {
    console.error(`sluice apply: --autoscaler ${autoscaler} is not an http(s) URL`);
    return EXIT_USAGE;
  }
  const { files: all, problems: unreadable } = readServiceFiles(paths);
  const { services: files, eventing } = splitFiles(all);
  if (unreadable.length > 0) {
    for (const problem of unreadable) console.error(`${problem.file}: ${problem.message}`);
    console.error("nothing was applied");
    return EXIT_USAGE;
  }

  try {
    // Where the Eventing resources go, and whether they fit what runs, before anything is sent.
    let eventingUrl: string | undefined;
    if (eventing.length > 0) {
      if (values.eventing !== undefined) {
        eventingUrl = eventingBase(values.eventing);
        if (eventingUrl === undefined) {
          console.error(`sluice apply: --eventing ${values.eventing} is not an http(s) URL`);
          return EXIT_USAGE;
        }
      } else {
        const status = await call(base, "/v1/status");
        if (status.status !== 200)
          throw new Failed(answered(`${base}/v1/status`, status.status, status.text));
        eventingUrl = eventingFromStatus(base, json<StatusSnapshot>(base, "/v1/status", status.text));
        if (eventingUrl === undefined) throw new Failed(noEventing(base));
      }
      await checkAgainstRunning(eventingUrl, eventing);
    }
    // What the autoscaler has now: the revisions the files may refer to, and what changes.
    const listed = await call(base, "/v1/services");
    if (listed.status !== 200) throw new Failed(answered(`${base}/v1/services`, listed.status, listed.text));
    const before = json<ServiceListing>(base, "/v1/services", listed.text).services;
    const find = (namespace: string, name: string) =>
      before.find(
        (s) =>
          s.manifest.metadata.name === name && (s.manifest.metadata.namespace ?? "default") === namespace,
      );
    // The running services too: a host one of them has is refused here, before anything is sent.
    const checked = checkServices(
      files,
      (namespace, name) => find(namespace, name)?.revisions ?? [],
      before.map((service) => service.manifest),
    );
    if (checked.problems.length > 0) {
      for (const problem of checked.problems) console.error(problem);
      console.error(`invalid: ${checked.problems.length} problem(s); nothing was applied`);
      return EXIT_USAGE;
    }
    for (const note of checked.notes) console.error(`note: ${note}`);

    const applied: ApplyAnswer["applied"] = [];
    for (const [index, { file, text }] of files.entries()) {
      const path = `/v1/services?file=${encodeURIComponent(file)}`;
      const answer = await call(base, path, { method: "PUT", body: text });
      if (answer.status === 400) {
        const refused = json<ApplyAnswer>(base, path, answer.text);
        for (const problem of refused.problems) console.error(problem);
        const done = files.slice(0, index).map((f) => f.file);
        const rest = files.slice(index).map((f) => f.file);
        console.error(
          `the autoscaler refused ${file}; ${done.length > 0 ? `applied before it: ${done.join(", ")}; ` : ""}not applied: ${rest.join(", ")}`,
        );
        return EXIT_USAGE;
      }
      if (answer.status !== 200)
        throw new Failed(`PUT ${answered(`${base}${path}`, answer.status, answer.text)}`);
      applied.push(...json<ApplyAnswer>(base, path, answer.text).applied);
    }

    // One line per service, its last document being what it is now.
    const latest = new Map<string, ServiceManifest>();
    for (const { manifest } of checked.services) latest.set(serviceId(manifest), manifest);
    for (const manifest of latest.values()) {
      const namespace = manifest.metadata.namespace ?? "default";
      const mine = applied.filter((a) => a.service === manifest.metadata.name && a.namespace === namespace);
      console.log(describeChange(manifest, mine, find(namespace, manifest.metadata.name)));
    }
    if (eventingUrl !== undefined)
      for (const line of await sendEventing(eventingUrl, eventing)) console.log(line);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof EventingApplyError) {
      console.error(error.invalid ? error.message : `sluice apply: ${error.message}`);
      return error.invalid ? EXIT_USAGE : EXIT_FAILED;
    }
    if (!(error instanceof Failed)) throw error;
    console.error(`sluice apply: ${error.message}`);
    return EXIT_FAILED;
  }
};
