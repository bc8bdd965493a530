import type { Dispatcher } from "undici";
import { DeadlineList } from "../common/http/deadline-list.ts";
import type { ExchangeContext } from "../common/http/proxy-exchange.ts";
import type { Logger } from "../common/log.ts";
import type { DataPlaneState, RevisionState } from "../common/state.ts";
import type { Tracer } from "../common/tracing.ts";
import type { ActivatorMetrics } from "./metrics.ts";
import { probeUntilReady } from "./prober.ts";
import type { StatsReporter } from "./stats-reporter.ts";
import { type QueueBudget, Throttler } from "./throttler.ts";

export interface RevisionEntry {
  name: string;
  state: RevisionState;
  throttler: Throttler;
  ctx: ExchangeContext;
  removed: boolean;
}

export interface RevisionTableDeps {
  upstream: Dispatcher;
  budget: QueueBudget;
  reporter: StatsReporter;
  metrics: ActivatorMetrics;
  log: Logger;
  tracer?: Tracer;
}

const SWEEP_MS = 100;
// Marks requests that came through the activator, so the queue-proxy reports them apart.
const PROXY_HEADER = ["k-proxy-request", "activator"] as const;

/** Per revision: its throttler and exchange context, kept in step with the autoscaler's state. */
export class RevisionTable {
  readonly #deps: RevisionTableDeps;
  readonly #entries = new Map<string, RevisionEntry>();
  readonly #sweep: NodeJS.Timeout;
  hasState = false;

  constructor(deps: RevisionTableDeps) {
    this.#deps = deps;
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const entry of this.#entries.values())
        entry.ctx.deadlines.expireStartedBefore(now - entry.ctx.timeoutMs);
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  get(name: string): RevisionEntry | undefined {
    return this.#entries.get(name);
  }

  entries(): IterableIterator<RevisionEntry> {
    return this.#entries.values();
  }

  update(state: DataPlaneState): void {
    this.hasState = true;
    for (const revision of Object.values(state.revisions)) {
      const entry = this.#entries.get(revision.name) ?? this.#create(revision);
      entry.state = revision;
      entry.removed = false;
      entry.ctx.timeoutMs = revision.timeoutSeconds * 1000;
      const urls = revision.endpoints.map((endpoint) => endpoint.url);
      for (const url of entry.throttler.setEndpoints(urls)) {
        void probeUntilReady(url, () => entry.state.endpoints.some((endpoint) => endpoint.url === url)).then(
          (ready) => {
            if (ready) entry.throttler.markProbed(url);
            else
              this.#deps.log.warn(
                { revision: revision.name, url },
                "pod never answered the activator's probe",
              );
          },
        );
      }
      if (revision.failure) entry.throttler.failWaiting(503, failureMessage(revision));
    }
    for (const entry of this.#entries.values()) {
      if (state.revisions[entry.name] || entry.removed) continue;
      entry.removed = true;
      entry.throttler.setEndpoints([]);
      entry.throttler.failWaiting(503, `activator: revision ${entry.name} no longer exists`);
    }
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #create(revision: RevisionState): RevisionEntry {
    const labels = { service: revision.service, namespace: revision.namespace, revision: revision.name };
    const metrics = this.#deps.metrics.forRevision(labels);
    const entry: RevisionEntry = {
      name: revision.name,
      state: revision,
      removed: false,
      throttler: new Throttler(revision.containerConcurrency, this.#deps.budget, (waiter) => {
        metrics.waited((Date.now() - (waiter as unknown as { startedAt: number }).startedAt) / 1000);
      }),
      ctx: {
        component: "activator",
        upstream: this.#deps.upstream,
        gate: undefined as never,
        stats: this.#deps.reporter.statsFor(revision.name),
        deadlines: new DeadlineList(),
        metrics,
        log: this.#deps.log,
        accessLog: false,
        timeoutMs: revision.timeoutSeconds * 1000,
        draining: false,
        extraHeaders: PROXY_HEADER,
        tracer: this.#deps.tracer,
        revision: revision.name,
        waitTimeout: () => ({
          status: 503,
          message: entry.state.failure
            ? failureMessage(entry.state)
            : `activator: revision ${revision.name} did not become ready within ${entry.state.timeoutSeconds}s`,
        }),
      },
    };
    entry.ctx.gate = entry.throttler;
    this.#entries.set(revision.name, entry);
    return entry;
  }
}

export function failureMessage(revision: RevisionState): string {
  const logs = revision.failure?.logs.slice(-3).join(" | ");
  return `activator: revision ${revision.name} cannot become ready: ${revision.failure?.reason}${logs ? ` (last output: ${logs})` : ""}`;
}
