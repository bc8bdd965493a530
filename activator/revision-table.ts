import type { Dispatcher } from "undici";
import type { HopAuth } from "../common/hop-auth.ts";
import { DeadlineList } from "../common/http/deadline-list.ts";
import type { ExchangeContext } from "../common/http/proxy-exchange.ts";
import { PROXY_HEADER } from "../common/internal-headers.ts";
import type { Logger } from "../common/log.ts";
import { type DataPlaneState, endpointSockets, type RevisionState, revisionKey } from "../common/state.ts";
import type { Tracer } from "../common/tracing.ts";
import { QUEUE_PROXY_GRACE_MS } from "./activator-exchange.ts";
import type { ActivatorMetrics } from "./metrics.ts";
import { probeUntilReady } from "./prober.ts";
import type { StatsReporter } from "./stats-reporter.ts";
import { type QueueBudget, Throttler } from "./throttler.ts";

export interface RevisionEntry {
  /** revisionKey(namespace, name): what the router names in Sluice-Revision. */
  key: string;
  /** The revision's name (unique within its namespace only). */
  name: string;
  state: RevisionState;
  throttler: Throttler;
  ctx: ExchangeContext;
  /** Requests sent to a pod and past the revision timeout: the queue-proxy has QUEUE_PROXY_GRACE_MS to answer. */
  grace: DeadlineList;
  /** Left the state: no new requests; kept only until those in flight finish. */
  removed: boolean;
  /** Some service's traffic or tag names it: only then may requests name it (routedNow). */
  referenced: boolean;
  /** When the last route to it went (0: never routed): a router may lag the state a moment. */
  unreferencedAt: number;
  /** A pod refused a connection: stop using it until it passes a probe (or sits out a pause, without a hop secret). */
  podUnreachable(url: string): void;
}

export interface RevisionTableDeps {
  upstream: Dispatcher;
  budget: QueueBudget;
  reporter: StatsReporter;
  metrics: ActivatorMetrics;
  log: Logger;
  /**
   * The hop secret: sent with K-Proxy-Request and K-Network-Probe. Unset: a pod that refused a
   * connection sits out a pause instead of a probe.
   */
  hopAuth: HopAuth;
  tracer?: Tracer;
}

/** How much per-revision state the table holds (tests and the revisions gauge read it). */
export interface TableSizes {
  /** Revisions in the state. */
  revisions: number;
  /** Removed revisions whose requests are still in flight. */
  retired: number;
  /** Pods being probed, across all revisions. */
  probing: number;
}

const SWEEP_MS = 100;
/** Without a hop secret (no probe possible): how long a pod that refused a connection sits out. */
const UNPROBED_PAUSE_MS = 1000;

interface Internal extends RevisionEntry {
  /** Probes in flight by pod URL, aborted when the pod or the revision goes. */
  probes: Map<string, AbortController>;
}

/**
 * Per revision: its throttler, exchange context, probes, stats and metrics, kept in step with the
 * autoscaler's state. A revision that leaves the state fails its waiting requests and is forgotten
 * at once (probes aborted, stats dropped); its metrics series go when its last request finishes.
 */
export class RevisionTable {
  readonly #deps: RevisionTableDeps;
  readonly #entries = new Map<string, Internal>();
  #retired: Internal[] = [];
  readonly #proxyHeaders: readonly string[];
  readonly #sweep: NodeJS.Timeout;
  hasState = false;

  constructor(deps: RevisionTableDeps) {
    this.#deps = deps;
    this.#proxyHeaders = [PROXY_HEADER, "activator", ...deps.hopAuth.header];
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const entry of this.#all()) {
        entry.ctx.deadlines.expireStartedBefore(now - entry.ctx.timeoutMs);
        if (entry.grace.size > 0)
          entry.grace.expireStartedBefore(now - entry.ctx.timeoutMs - QUEUE_PROXY_GRACE_MS);
      }
      if (this.#retired.length > 0) this.#forgetFinished();
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  get(key: string): RevisionEntry | undefined {
    return this.#entries.get(key);
  }

  /** Revisions in the state. */
  entries(): IterableIterator<RevisionEntry> {
    return this.#entries.values();
  }

  /** Every revision with requests to hold or finish, removed ones included (for the drain). */
  *withRequests(): Iterable<RevisionEntry> {
    yield* this.#all();
  }

  sizes(): TableSizes {
    let probing = 0;
    for (const entry of this.#all()) probing += entry.probes.size;
    return { revisions: this.#entries.size, retired: this.#retired.length, probing };
  }

  update(state: DataPlaneState): void {
    this.hasState = true;
    const referenced = new Set<string>();
    for (const service of Object.values(state.services)) {
      for (const target of service.traffic) referenced.add(revisionKey(service.namespace, target.revision));
      for (const tag of Object.values(service.tags))
        referenced.add(revisionKey(service.namespace, tag.revision));
    }
    for (const [key, revision] of Object.entries(state.revisions)) {
      const entry = this.#entries.get(key) ?? this.#create(key, revision);
      entry.state = revision;
      const wasReferenced = entry.referenced;
      entry.referenced = referenced.has(key);
      if (wasReferenced && !entry.referenced) entry.unreferencedAt = Date.now();
      entry.ctx.timeoutMs = revision.timeoutSeconds * 1000;
      const urls = revision.endpoints.map((endpoint) => endpoint.url);
      // The state lists ready pods only (the platform heard the queue-proxy's /readyz say so, or
      // the kubelet did): a new one takes requests at once, as Knative's activator trusts a pod
      // Kubernetes marked ready when it has no mesh to sniff for. One that then refuses a
      // connection is probed before it gets more (podUnreachable).
      for (const url of entry.throttler.setEndpoints(urls, endpointSockets(revision.endpoints)))
        entry.throttler.markUsable(url);
      for (const [url, probe] of entry.probes) {
        if (urls.includes(url)) continue;
        probe.abort();
        entry.probes.delete(url);
      }
      if (revision.failure) entry.throttler.failWaiting(503, failureMessage(revision), "revision_failed");
    }
    for (const entry of this.#entries.values())
      if (state.revisions[entry.key] === undefined) this.#remove(entry);
    this.#forgetFinished();
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const entry of this.#all()) for (const probe of entry.probes.values()) probe.abort();
  }

  *#all(): Iterable<Internal> {
    yield* this.#entries.values();
    yield* this.#retired;
  }

  #remove(entry: Internal): void {
    entry.removed = true;
    entry.referenced = false;
    this.#entries.delete(entry.key);
    for (const probe of entry.probes.values()) probe.abort();
    entry.probes.clear();
    entry.throttler.setEndpoints([]);
    entry.throttler.failWaiting(503, `activator: revision ${entry.key} no longer exists`, "revision_gone");
    this.#deps.reporter.forget(entry.key);
    this.#retired.push(entry);
  }

  /** Removed revisions whose last request finished: drop their metrics series too. */
  #forgetFinished(): void {
    this.#retired = this.#retired.filter((entry) => {
      if (entry.throttler.inFlight > 0 || entry.throttler.waiting > 0) return true;
      this.#deps.metrics.forget(labelsOf(entry.state));
      return false;
    });
  }

  /**
   * A pod that refused a connection (it may be gone; the state will say so) is probed before it
   * gets requests again. Without a hop secret the queue-proxy would not believe a probe: the pod
   * sits out a pause instead.
   */
  #probe(entry: Internal, url: string): void {
    if (entry.probes.has(url)) return;
    const probe = new AbortController();
    entry.probes.set(url, probe);
    if (!this.#deps.hopAuth.configured) {
      const timer = setTimeout(() => {
        entry.probes.delete(url);
        entry.throttler.markUsable(url);
      }, UNPROBED_PAUSE_MS);
      timer.unref();
      probe.signal.addEventListener("abort", () => clearTimeout(timer));
      return;
    }
    void probeUntilReady(url, this.#deps.hopAuth, probe.signal).then((ready) => {
      if (entry.probes.get(url) === probe) entry.probes.delete(url);
      if (ready) entry.throttler.markUsable(url);
      else if (!probe.signal.aborted)
        this.#deps.log.warn(
          { namespace: entry.state.namespace, revision: entry.name, url },
          "pod never answered the activator's probe",
        );
    });
  }

  #create(key: string, revision: RevisionState): Internal {
    const metrics = this.#deps.metrics.forRevision(labelsOf(revision));
    const entry: Internal = {
      key,
      name: revision.name,
      state: revision,
      removed: false,
      referenced: false,
      unreferencedAt: 0,
      probes: new Map(),
      grace: new DeadlineList(),
      podUnreachable: (url) => {
        if (entry.throttler.markUnreachable(url) && !entry.removed) this.#probe(entry, url);
      },
      throttler: new Throttler(revision.containerConcurrency, this.#deps.budget, (waiter) => {
        metrics.waited((Date.now() - (waiter as unknown as { startedAt: number }).startedAt) / 1000);
      }),
      ctx: {
        component: "activator",
        upstream: this.#deps.upstream,
        gate: undefined as never,
        stats: this.#deps.reporter.statsFor(key),
        deadlines: new DeadlineList(),
        metrics,
        log: this.#deps.log,
        accessLog: false,
        timeoutMs: revision.timeoutSeconds * 1000,
        draining: false,
        // Marks requests that came through the activator, so the queue-proxy reports them apart.
        extraHeaders: this.#proxyHeaders,
        tracer: this.#deps.tracer,
        revision: revision.name,
        // The wait for a pod (a cold start's, mostly) as a span of its own.
        waitSpan: { name: "activator wait for pod", readyPods: () => entry.throttler.readyPods },
        waitTimeout: () => ({
          status: 503,
          reason: entry.state.failure ? "revision_failed" : "revision_not_ready",
          message: entry.state.failure
            ? failureMessage(entry.state)
            : `activator: revision ${key} did not become ready within ${entry.state.timeoutSeconds}s`,
        }),
      },
    };
    entry.ctx.gate = entry.throttler;
    this.#entries.set(key, entry);
    return entry;
  }
}

function labelsOf(revision: RevisionState): { service: string; namespace: string; revision: string } {
  return { service: revision.service, namespace: revision.namespace, revision: revision.name };
}

export function failureMessage(revision: RevisionState): string {
  const logs = revision.failure?.logs.slice(-3).join(" | ");
  return `activator: revision ${revisionKey(revision.namespace, revision.name)} cannot become ready: ${revision.failure?.reason}${logs ? ` (last output: ${logs})` : ""}`;
}
