import { ConcurrencyStats } from "../common/concurrency-stats.ts";
import type { HopAuth } from "../common/hop-auth.ts";
import { DeadlineList } from "../common/http/deadline-list.ts";
import type { ExchangeContext, Gate, GateWaiter } from "../common/http/proxy-exchange.ts";
import type { Dispatcher } from "../common/http/undici-dispatchers.ts";
import { REVISION_HEADER } from "../common/internal-headers.ts";
import type { Logger } from "../common/log.ts";
import { endpointSockets, type RevisionMode, type RevisionState, splitRevisionKey } from "../common/state.ts";
import type { Tracer } from "../common/tracing.ts";
import { RevisionCounters } from "./metrics.ts";
import { PodBalancer, type PodSlot } from "./pod-balancer.ts";

/** A request as the revision gate sees it: where it goes, and the pod slot it holds. */
export interface RouterWaiter extends GateWaiter {
  /** The pod slot held, or null when the request goes to the activator. */
  slot: PodSlot | null;
  /** Send to the activator whatever the mode (a retry after a pod refused the connection). */
  viaActivator?: boolean;
}

export interface TargetDeps {
  /** Upstream dispatchers by the revision's protocol (pods and the activator speak both). */
  http1: Dispatcher;
  h2c: Dispatcher;
  activatorOrigin: string;
  log: Logger;
  accessLog: boolean;
  timeoutSlackMs: number;
  /** The hop secret, sent to the activator so that it believes Sluice-Revision. */
  hopAuth: HopAuth;
  tracer?: Tracer;
}

/**
 * Where a revision's requests go, following the autoscaler's state: in serve mode to the least
 * loaded ready pod with room, otherwise (proxy mode, no pod, every pod full) to the activator,
 * which holds them until there is capacity. The mode is read per request, so a switch never
 * touches requests already in flight. Updated in place; requests hold no reference to the table.
 */
export class RevisionTarget implements Gate {
  /** revisionKey(namespace, name): what the activator is told (Sluice-Revision on requests). */
  readonly key: string;
  /** The revision's name, for clients (Sluice-Revision on responses) and metrics. */
  readonly name: string;
  readonly counters: RevisionCounters;
  readonly ctx: ExchangeContext;
  /** What a request sent to the activator carries: the revision, and the hop secret. */
  readonly activatorHeaders: readonly string[];
  readonly #balancer: PodBalancer;
  readonly #activatorOrigin: string;
  readonly #slackMs: number;
  mode: RevisionMode = "proxy";
  /** The state this target was last updated from (identity tells whether anything changed). */
  state: RevisionState | undefined;
  /** No longer in the autoscaler's state: routes holding it get rebuilt. */
  removed = false;

  constructor(key: string, state: RevisionState | undefined, deps: TargetDeps) {
    const { namespace, name } = splitRevisionKey(key);
    this.key = key;
    this.name = name;
    this.#activatorOrigin = deps.activatorOrigin;
    this.#slackMs = deps.timeoutSlackMs;
    this.activatorHeaders = [REVISION_HEADER, key, ...deps.hopAuth.header];
    this.#balancer = new PodBalancer(state?.containerConcurrency ?? 0);
    this.counters = new RevisionCounters({ service: state?.service ?? "", namespace, revision: name });
    const stats = new ConcurrencyStats(Date.now());
    this.counters.inFlight = () => stats.concurrency;
    this.ctx = {
      component: "router",
      upstream: state?.protocol === "h2c" ? deps.h2c : deps.http1,
      upstreamH2: state?.protocol === "h2c",
      gate: this,
      stats,
      deadlines: new DeadlineList(),
      metrics: this.counters,
      log: deps.log,
      accessLog: deps.accessLog,
      timeoutMs: 300_000 + this.#slackMs,
      draining: false,
      responseHeaders: [REVISION_HEADER, name],
      tracer: deps.tracer,
      revision: name,
    };
    if (state) this.update(state);
  }

  get readyPods(): number {
    return this.#balancer.size;
  }

  update(state: RevisionState): void {
    this.state = state;
    this.mode = state.mode;
    this.#balancer.containerConcurrency = state.containerConcurrency;
    this.#balancer.setPods(
      state.endpoints.map((endpoint) => endpoint.url),
      endpointSockets(state.endpoints),
    );
    this.ctx.timeoutMs = state.timeoutSeconds * 1000 + this.#slackMs;
  }

  /** Takes a pod slot (serve mode, a pod with room) or sends the request to the activator. */
  enter(waiter: RouterWaiter): "admitted" {
    const slot = this.mode === "serve" && !waiter.viaActivator ? this.#balancer.acquire() : undefined;
    waiter.slot = slot ?? null;
    waiter.origin = slot ? slot.url : this.#activatorOrigin;
    waiter.socketPath = slot?.socketPath;
    return "admitted";
  }

  leave(): boolean {
    return false; // the router never queues
  }

  release(waiter: RouterWaiter): void {
    if (waiter.slot !== null) this.#balancer.release(waiter.slot);
    waiter.slot = null;
  }
}
