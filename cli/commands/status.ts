import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type {
  CapacityStatus,
  ComponentStatus,
  RevisionStatus,
  ServiceStatus,
  StatusSnapshot,
} from "../../common/status.ts";
import type { EventingStatus } from "../../eventing/status.ts";
import { answered, authHeaders, autoscalerBase, DEFAULT_AUTOSCALER } from "../autoscaler-url.ts";
import { formatEventingStatus } from "../cluster/format-eventing-status.ts";
import { clusterStatusJson, formatClusterStatus } from "../cluster/format-status.ts";
import { readEventing } from "../cluster/read-eventing-status.ts";
import { ReadFailed, readServices } from "../cluster/read-status.ts";
import {
  ALL_NAMESPACES_OPTION,
  CLUSTER_OPTIONS,
  type ClusterTarget,
  clusterHelp,
  clusterTarget,
  conflictingOptions,
  TargetError,
} from "../cluster/target.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { formatEventing } from "../eventing-status.ts";
import { eventingFromStatus } from "../eventing-url.ts";

const REQUEST_TIMEOUT_MS = 5000;
const WATCH_INTERVAL_MS = 1000;

const HELP = `usage: sluice status [--autoscaler URL] [--json] [--watch]
       sluice status (--kubeconfig PATH | --context NAME | --cluster) [-n NS | -A] [--group G] [--eventing] [--json] [--watch]

Shows every service, its revisions, traffic split, pods and load, from a running autoscaler's
GET /v1/status. CONCURRENCY is the stable-window average the autoscaler scales on; RPS is
requests per second over the last autoscaler tick. When sluice up runs Eventing, each Broker's
address and each Trigger's events follow, from the eventing component's GET /v1/eventing:
ACCEPTED (passed the Trigger's filter), DELIVERED (the subscriber answered 2xx), RETRIED (failed
attempts tried again), DEAD-LETTERED (sent to the dead-letter sink); --json adds it as "eventing".

With a cluster (--kubeconfig, --context, --cluster or --group), it reads the Service and Revision
objects and the status the sluice controller wrote on them: per service its URL, Ready, latest
created and ready revisions; per revision its share of traffic, tags, Ready and replicas
(desired, actual); then the reason and message of whatever is not ready. --json prints the
services with their statuses and their revisions' as the API server has them.
When the chart runs Eventing (its CRDs are installed), the Brokers (address), Triggers (broker,
subscriber URI) and sources and SinkBindings (sink URI) follow, each with Ready and its reason, as
sluice's eventing component wrote them; --json adds them as "eventing". Without the CRDs that part
is left out, unless --eventing asks for it.

options:
  --autoscaler URL  the autoscaler to ask (default ${DEFAULT_AUTOSCALER})
  --json            print the raw /v1/status snapshot as JSON (one line per second with --watch)
  --watch, -w       redraw every second until Ctrl-C
  --eventing        with a cluster: only Brokers, Triggers and sources (exit 1, saying how to
                    install them, when the Eventing CRDs are not)
  --help, -h        show this help

${clusterHelp(true)}

exit codes: 0 ok, 1 the autoscaler or the cluster cannot be reached or answered an error (a
missing CRD, a forbidden list), 2 bad usage or an unreadable kubeconfig`;

class Unreachable extends Error {}

/** GET /v1/status; any failure becomes an Unreachable naming the URL and the cause. */
async function fetchStatus(base: string): Promise<StatusSnapshot> {
  const url = `${base}/v1/status`;
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders(), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Unreachable(`cannot reach the autoscaler at ${base} (${why}); is sluice running?`);
  }
  const body = await res.text();
  if (!res.ok) throw new Unreachable(answered(url, res.status, body));
  try {
    return JSON.parse(body) as StatusSnapshot;
  } catch {
    throw new Unreachable(`${url} did not answer JSON; is ${base} a sluice autoscaler?`);
  }
}

/**
 * The eventing component's GET /v1/eventing when sluice up runs one; why not, as a line, when it
 * cannot be read (the services' status is still worth showing).
 */
async function fetchEventing(
  base: string,
  snapshot: StatusSnapshot,
): Promise<EventingStatus | string | undefined> {
  const url = eventingFromStatus(base, snapshot);
  if (url === undefined) return undefined;
  try {
    const res = await fetch(`${url}/v1/eventing`, {
      headers: authHeaders(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    if (!res.ok) return answered(`${url}/v1/eventing`, res.status, body);
    return JSON.parse(body) as EventingStatus;
  } catch (error) {
    return `cannot read ${url}/v1/eventing (${(error as Error).message})`;
  }
}

const COLUMNS = [
  { title: "SERVICE", right: false },
  { title: "REVISION", right: false },
  { title: "TRAFFIC", right: true },
  { title: "TAGS", right: false },
  { title: "DESIRED", right: true },
  { title: "READY", right: true },
  { title: "MODE", right: false },
  { title: "CONCURRENCY", right: true },
  { title: "RPS", right: true },
] as const;

function decimal(value: number): string {
  return value.toFixed(value === 0 ? 0 : 1);
}

function revisionRow(service: ServiceStatus, revision: RevisionStatus): string[] {
  const targets = service.traffic.filter((target) => target.revision === revision.name);
  const percent = targets.reduce((sum, target) => sum + target.percent, 0);
  const tags = targets.flatMap((target) => (target.tag ? [target.tag] : []));
  return [
    service.namespace === "default" ? service.name : `${service.namespace}/${service.name}`,
    revision.name,
    targets.length > 0 ? `${percent}%` : "-",
    tags.length > 0 ? tags.join(",") : "-",
    String(revision.desiredPods),
    String(revision.readyPods),
    revision.failure ? "failed" : revision.mode,
    decimal(revision.concurrency.stable ?? revision.concurrency.current),
    decimal(revision.rps.current),
  ];
}

/**
 * The table, then one line per failed revision with its reason and per revision with pending
 * pods, then the inactive services, then the local platform's capacity when it has one, then the
 * components line when `sluice up` reported them.
 */
export function formatStatus(snapshot: StatusSnapshot): string {
  const capacity = snapshot.capacity ? `${formatCapacity(snapshot.capacity)}\n` : "";
  const components = snapshot.components ? `${formatComponents(snapshot.components)}\n` : "";
  return `${formatServices(snapshot)}${capacity}${components}`;
}

/** `capacity: 3 of 8 pods, 2 pending; 2 start at once` (the local platform's room, SLUICE_LOCAL_MAX_PODS) */
export function formatCapacity(capacity: CapacityStatus): string {
  const pending = capacity.pending > 0 ? `, ${capacity.pending} pending` : "";
  return `capacity: ${capacity.pods} of ${capacity.maxPods} pods${pending}; ${capacity.maxStarting} start at once`;
}

/** `components: autoscaler running (1 restart, last exit SIGKILL at 15:03:04), router running` */
export function formatComponents(components: ComponentStatus[]): string {
  const described = components.map((component) => {
    const notes: string[] = [];
    if (component.restarts > 0)
      notes.push(`${component.restarts} ${component.restarts === 1 ? "restart" : "restarts"}`);
    if (component.lastExit) {
      // The local wall-clock time, as the log lines of sluice up show it.
      const at = new Date(component.lastExit.at).toTimeString().slice(0, 8);
      notes.push(`last exit ${component.lastExit.code} at ${at}`);
    }
    const state = `${component.name} ${component.state}`;
    return notes.length > 0 ? `${state} (${notes.join(", ")})` : state;
  });
  return `components: ${described.length > 0 ? described.join(", ") : "none"}`;
}

function formatServices(snapshot: StatusSnapshot): string {
  if (snapshot.services.length === 0) return "no services yet — sluice apply -f service.yaml\n";
  const running = snapshot.services.filter((service) => service.active !== false);
  const inactive = snapshot.services.filter((service) => service.active === false);
  const inactiveLine = `inactive (from an earlier run): ${inactive
    .map((service) =>
      service.namespace === "default" ? service.name : `${service.namespace}/${service.name}`,
    )
    .join(", ")}`;
  if (running.length === 0) return `no services running — sluice apply -f service.yaml\n${inactiveLine}\n`;
  const rows = [
    COLUMNS.map((column) => column.title),
    ...running.flatMap((service) => service.revisions.map((revision) => revisionRow(service, revision))),
  ];
  const widths = COLUMNS.map((_, index) => Math.max(...rows.map((row) => row[index].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, index) =>
        COLUMNS[index].right ? cell.padStart(widths[index]) : cell.padEnd(widths[index]),
      )
      .join("  ")
      .trimEnd(),
  );
  for (const service of running) {
    for (const revision of service.revisions) {
      if (revision.failure) lines.push(`${revision.name}: failed: ${revision.failure.reason}`);
      // Wanted but not started: the local platform is at its capacity (docs/autoscaler.md).
      if (revision.pendingPods > 0)
        lines.push(
          `${revision.name}: ${revision.pendingPods} ${revision.pendingPods === 1 ? "pod" : "pods"} pending, waiting for room on the machine`,
        );
    }
  }
  if (inactive.length > 0) lines.push(inactiveLine);
  return `${lines.join("\n")}\n`;
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      autoscaler: { type: "string" },
      json: { type: "boolean", default: false },
      watch: { type: "boolean", short: "w", default: false },
      eventing: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...CLUSTER_OPTIONS,
      ...ALL_NAMESPACES_OPTION,
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

export const status: Command = async (args) => {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(args);
  } catch (error) {
    console.error(`sluice status: ${(error as Error).message}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (options.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  let target: ClusterTarget | undefined;
  try {
    target = clusterTarget(options);
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    console.error(`sluice status: ${error.message}`);
    return EXIT_USAGE;
  }
  const conflict = conflictingOptions(target, options, false);
  if (conflict) {
    console.error(`sluice status: ${conflict}`);
    return EXIT_USAGE;
  }
  if (!target && options.eventing) {
    console.error(
      "sluice status: --eventing needs a cluster (locally, Eventing shows whenever sluice up runs it): give --kubeconfig PATH, --context NAME or --cluster",
    );
    return EXIT_USAGE;
  }
  const autoscaler = options.autoscaler ?? DEFAULT_AUTOSCALER;
  const base = target ? undefined : autoscalerBase(autoscaler);
  if (!target && base === undefined) {
    console.error(`sluice status: --autoscaler ${autoscaler} is not an http(s) URL`);
    return EXIT_USAGE;
  }
  const compact = options.watch ? 0 : 2;
  // What to show, read afresh: from the cluster, or from the autoscaler.
  const where = target ? (target.allNamespaces ? "any namespace" : `namespace ${target.namespace}`) : "";
  const read = async (): Promise<string> => {
    if (target) {
      const [services, eventing] = await Promise.all([
        options.eventing ? undefined : readServices(target),
        readEventing(target, options.eventing),
      ]);
      if (options.json)
        return `${JSON.stringify({ ...(services ? clusterStatusJson(services) : {}), ...(eventing ? { eventing } : {}) }, null, compact)}\n`;
      const events = eventing ? formatEventingStatus(eventing, target.allNamespaces) : "";
      if (services) return `${formatClusterStatus(services, where, target.allNamespaces)}${events}`;
      return events === "" ? `no Brokers, Triggers or sources in ${where}\n` : events.slice(1);
    }
    const snapshot = await fetchStatus(base as string);
    const eventing = await fetchEventing(base as string, snapshot);
    if (options.json)
      return `${JSON.stringify(eventing ? { ...snapshot, eventing } : snapshot, null, compact)}\n`;
    return `${formatStatus(snapshot)}${typeof eventing === "string" ? `eventing: ${eventing}\n` : eventing ? formatEventing(eventing) : ""}`;
  };
  const failed = (error: unknown) => error instanceof Unreachable || error instanceof ReadFailed;
  const heading = target ? `${target.server} (${where})` : (base as string);

  let text: string;
  try {
    text = await read();
  } catch (error) {
    if (!failed(error)) throw error;
    console.error(`sluice status: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  if (!options.watch) {
    process.stdout.write(text);
    return EXIT_OK;
  }

  // --watch: redraw every second until Ctrl-C; a lost autoscaler or API server is shown and retried.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const redraw = !options.json && process.stdout.isTTY;
  try {
    while (!stop.signal.aborted) {
      const top = `${heading} · ${new Date().toLocaleTimeString()} (Ctrl-C to stop)\n\n`;
      if (redraw) process.stdout.write(`\x1b[H\x1b[2J${top}${text}`);
      else process.stdout.write(options.json ? text : `${top}${text}\n`);
      await sleep(WATCH_INTERVAL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) break;
      try {
        text = await read();
      } catch (error) {
        if (!failed(error)) throw error;
        const message = (error as Error).message;
        if (options.json) console.error(`sluice status: ${message}; retrying every second`);
        text = options.json ? "" : `${message}; retrying every second\n`;
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return EXIT_OK;
};
