import type { ActivatorStats } from "../common/activator-stats.ts";
import type { Logger } from "../common/log.ts";
import { type RevisionMode, revisionKey, type ServiceState, serviceKey } from "../common/state.ts";
import type { LogFilter, LogLine, Platform } from "../platform/platform.ts";
import type { ServiceManifest } from "../serving/manifest.ts";
import type { RevisionStore } from "../serving/revision-store.ts";
import type { Revision } from "../serving/revisions.ts";
import { type ApplyResult, appliedResult, planApply } from "./apply.ts";
import type { AutoscalerConfig } from "./config.ts";
import { collectGarbage } from "./garbage-collector.ts";
import type { AutoscalerMetrics } from "./metrics.ts";
import { type RevisionDetail, revisionDetails } from "./revision-details.ts";
import { createRuntime, type RevisionRuntime } from "./revision-runtime.ts";
import { revisionStates } from "./revision-states.ts";
import { decideOnPoke, decideScale, followHpa } from "./scale-decision.ts";
import { scrapeAll, scrapeTargets, statsByRevision } from "./scraper.ts";
import { namespaceOf, type ServiceEntry } from "./service-entry.ts";
import { referencedRevisions, serviceStates } from "./service-states.ts";
import type { StatePublisher } from "./state-publisher.ts";
import { takeActivatorStats } from "./stats-intake.ts";

/** POST /v1/services in Kubernetes mode: the cluster's Service objects are the source of truth. */
const CLUSTER_APPLY =
  "this autoscaler runs in Kubernetes mode: apply Services to the cluster (kubectl apply -f, or sluice apply --kubeconfig)";

export interface ControllerDeps {
  config: AutoscalerConfig;
  platform: Platform;
  /**
   * Where services and revision history persist (local mode). Absent in Kubernetes mode: the
   * cluster holds them, and syncService hands the controller each service as it is there.
   */
  store?: RevisionStore;
  publisher: StatePublisher;
  metrics: AutoscalerMetrics;
  log: Logger;
}

/**
 * The autoscaler's core: applies Service manifests, keeps revisions at the scale their load asks
 * for, and publishes the resulting state for the router and activator. It holds the services and
 * does the I/O (store, platform, publisher, log); the decisions are in apply.ts, stats-intake.ts,
 * scale-decision.ts, garbage-collector.ts, service-states.ts and revision-states.ts.
 */
export class Controller {
  readonly #deps: ControllerDeps;
  /** By serviceKey; inactive ones too (history only). */
  readonly #services = new Map<string, ServiceEntry>();
  /** The revisions that run (those of active services), by revisionKey. */
  readonly #running = new Map<string, RevisionRuntime>();
  readonly #pods: Platform["revision"];
  /** The round running, and the one asked for meanwhile. */
  #ticking: Promise<void> | undefined;
  #tickAgain: Promise<void> | undefined;
  #stopped = false;
  /** Until restore() has adopted the pods left running, pod changes are not published. */
  #restored = false;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    this.#pods = (key) => deps.platform.revision(key);
    deps.platform.onChange(() => this.#onPodsChanged());
  }

  /**
   * Restores what the store remembers (services and their revision history), and takes over the
   * pods a previous autoscaler left running before the first publish: the first snapshot after a
   * restart routes to the same live endpoints. With `restore: "none"` every stored service becomes
   * inactive first, so no pod is adopted (the platform stops them all).
   */
  async restore(): Promise<void> {
    const { store, config } = this.#deps;
    if (!store) throw new Error("restore() needs a store: in Kubernetes mode services come from syncService");
    if (config.restore === "none") store.deactivateAll();
    for (const { manifest, active } of store.services()) {
      const namespace = namespaceOf(manifest);
      const history = store
        .revisions(namespace, manifest.metadata.name)
        .map((revision) => createRuntime(revision, config));
      this.#services.set(serviceKey(namespace, manifest.metadata.name), {
        manifest,
        revisions: history,
        active,
      });
      if (active) for (const runtime of history) this.#track(runtime);
    }
    await this.#deps.platform.adopt?.();
    for (const runtime of this.#running.values()) runtime.desired = this.#pods(runtime.key)?.desired ?? 0;
    this.#restored = true;
    this.publish();
  }

  services(): { manifest: ServiceManifest; revisions: string[]; active: boolean }[] {
    return [...this.#services.values()].map((entry) => ({
      manifest: entry.manifest,
      revisions: entry.revisions.map((r) => r.revision.name),
      active: entry.active,
    }));
  }

  /** Services kept from an earlier run but not applied since (GET /v1/status lists them apart). */
  inactiveServices(): { namespace: string; name: string }[] {
    return [...this.#services.values()]
      .filter((entry) => !entry.active)
      .map((entry) => ({ namespace: namespaceOf(entry.manifest), name: entry.manifest.metadata.name }));
  }

  /** The platform's pod output, for GET /v1/logs; undefined when the platform keeps none. */
  logs():
    | { recent(filter: LogFilter): LogLine[]; follow(listener: (line: LogLine) => void): () => void }
    | undefined {
    const { platform } = this.#deps;
    const { recentLogs, onLog } = platform;
    if (!recentLogs || !onLog) return undefined;
    return { recent: (filter) => recentLogs.call(platform, filter), follow: (l) => onLog.call(platform, l) };
  }

  /** Applies manifests all or nothing: any problem anywhere and nothing changes. */
  apply(text: string, file: string, now = Date.now()): ApplyResult {
    const { store } = this.#deps;
    if (!store) return { ok: false, problems: [CLUSTER_APPLY], applied: [] };
    const plan = planApply(text, file, this.#services, now);
    if ("problems" in plan) return { ok: false, problems: plan.problems, applied: [] };
    const { planned } = plan;
    store.apply(
      planned.map((p) => p.loaded.manifest),
      planned.filter((p) => p.created).map((p) => p.revision),
      now,
    );
    for (const { loaded, revision, created } of planned) {
      const manifest = loaded.manifest;
      const key = serviceKey(namespaceOf(manifest), manifest.metadata.name);
      const entry = this.#services.get(key) ?? { manifest, revisions: [], active: true };
      entry.manifest = manifest;
      if (!entry.active) {
        // Applied again: its kept revisions run again (unreferenced ones are collected as usual).
        entry.active = true;
        for (const runtime of entry.revisions) this.#track(runtime);
      }
      if (created) {
        const runtime = createRuntime(revision, this.#deps.config);
        if (runtime.readyAt !== undefined)
          store.markReady(revision.namespace, revision.name, runtime.readyAt);
        entry.revisions.push(runtime);
        this.#track(runtime);
      }
      this.#services.set(key, entry);
    }
    this.#deps.log.info({ applied: planned.map((p) => p.revision.name) }, "applied services");
    // Published now, not by the tick (which first scrapes every pod): once apply has answered, the
    // routing state has the services (at zero, through the activator, until the tick scales them).
    // They are stored either way: a platform that cannot be read now leaves it to the next tick.
    try {
      this.publish(now);
    } catch (error) {
      this.#deps.log.warn({ err: error }, "could not publish the applied services; the next tick will");
    }
    void this.tick();
    return appliedResult(planned);
  }

  /**
   * Kubernetes mode: one service as the cluster now has it (its Service object validated, its
   * Revision objects oldest first, `readyAt` on those whose status was ever Ready), or undefined
   * once it is deleted. Revisions keep their runtime (load windows, scale) across calls; ones no
   * longer listed are forgotten (the platform's delete of an object already gone changes nothing).
   */
  syncService(
    namespace: string,
    name: string,
    found: { manifest: ServiceManifest; revisions: (Revision & { readyAt?: number })[] } | undefined,
  ): void {
    const key = serviceKey(namespace, name);
    const entry = this.#services.get(key);
    const kept = new Set(found?.revisions.map((revision) => revisionKey(namespace, revision.name)));
    for (const runtime of entry?.revisions ?? [])
      if (!kept.has(runtime.key)) this.#forget(runtime, "revision gone from the cluster");
    if (!found) {
      this.#services.delete(key);
    } else {
      const known = new Map(entry?.revisions.map((runtime) => [runtime.key, runtime]));
      const revisions = found.revisions.map((revision) => {
        const runtime = known.get(revisionKey(namespace, revision.name));
        if (runtime) {
          runtime.readyAt ??= revision.readyAt;
          return runtime;
        }
        const created = createRuntime(revision, this.#deps.config);
        this.#track(created);
        // A revision already running (an autoscaler restarted) starts from its pods' scale.
        created.desired = this.#pods(created.key)?.desired ?? 0;
        return created;
      });
      this.#services.set(key, { manifest: found.manifest, revisions, active: true });
    }
    if (this.#restored) this.publish();
  }

  /**
   * Kubernetes mode's start: services arrive by syncService, no pod is adopted (they run without
   * the autoscaler), so publishing may start once the first sync is done.
   */
  startPublishing(): void {
    this.#restored = true;
    this.publish();
  }

  /**
   * The activator's push. A poke (requests wait for a revision with no ready pod) is decided now,
   * not at the next tick, as Knative's Poke runs the scaler at once: from zero to at least the
   * activation scale, and while no pod is ready yet, to what the waiting requests ask of the KPA
   * (the activator pokes again as a burst grows). A poke only ever adds pods.
   */
  activatorStats(push: ActivatorStats, now = Date.now()): string[] {
    const { unknown, poked } = takeActivatorStats(push, this.#running);
    if (poked.length === 0) return unknown;
    const services = this.#stateOfServices(now);
    const referenced = referencedRevisions(services, this.#services.values());
    let changed = false;
    for (const { runtime, scale } of poked) {
      const from = runtime.desired;
      const isReferenced = referenced.has(runtime.key);
      // An unreferenced revision has no floor: one pod for the requests still sent to it.
      let wanted = from === 0 ? (isReferenced ? scale : 1) : from;
      // With a pod ready (the activator has not heard yet), the tick decides as usual.
      const ready = this.#pods(runtime.key)?.pods.some((pod) => pod.phase === "ready") ?? false;
      if (!ready && !this.#followsHpa(runtime))
        wanted = Math.max(wanted, decideOnPoke(runtime, isReferenced, now).scale);
      if (wanted <= from) continue;
      this.#scale(runtime, wanted, "proxy");
      changed = true;
      const { namespace, name } = runtime.revision;
      this.#deps.log.info({ namespace, revision: name, from, to: wanted }, "poked: scaling up");
    }
    if (changed && this.#restored) this.publish(now, services);
    return unknown;
  }

  /**
   * One autoscaling round: scrape every ready pod, decide, scale, collect garbage, publish. Called
   * while a round runs (apply's, the timer's), it runs one more round right after (callers meanwhile
   * share it), so what changed during a round's scrape is decided then, and the promise always
   * settles after a round that started after the call.
   */
  tick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#ticking) {
      this.#tickAgain ??= this.#ticking.then(() => {
        this.#tickAgain = undefined;
        return this.tick();
      });
      return this.#tickAgain;
    }
    this.#ticking = this.#round().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  /** No round starts any more (the autoscaler is stopping); resolves once the running one is done. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#ticking ?? Promise.resolve();
  }

  async #round(): Promise<void> {
    try {
      const { config, metrics } = this.#deps;
      const targets = scrapeTargets(this.#running.keys(), this.#pods);
      const podStats = statsByRevision(await scrapeAll(targets, { timeoutMs: config.scrapeTimeoutMs }));
      const services = serviceStates(this.#services, config.domain, Date.now());
      const referenced = referencedRevisions(services, this.#services.values());
      const decidedAt = Date.now();
      for (const runtime of this.#running.values()) {
        const pods = this.#pods(runtime.key)?.pods ?? [];
        const readyPods = pods.filter((pod) => pod.phase === "ready").length;
        const stats = podStats.get(runtime.key) ?? [];
        const decide = this.#followsHpa(runtime) ? followHpa : decideScale;
        const { scale, mode } = decide(runtime, stats, readyPods, referenced.has(runtime.key), decidedAt);
        this.#scale(runtime, scale, mode);
        metrics.record(runtime, pods);
      }
      for (const runtime of collectGarbage(
        this.#services.values(),
        referenced,
        decidedAt,
        config.revisionRetentionMs,
      ))
        this.#forget(runtime, "garbage-collecting unreferenced revision");
      this.publish(decidedAt, services);
    } catch (error) {
      // One failed round must not stop autoscaling: log it; the next tick starts afresh.
      this.#deps.log.error({ err: error }, "tick failed; the next one runs as usual");
    }
  }

  /** Builds the whole state and hands it to the publisher (which sends only what changed). */
  publish(now = Date.now(), services: Record<string, ServiceState> = this.#stateOfServices(now)): void {
    this.#deps.publisher.publish(services, revisionStates(this.#running.values(), this.#pods));
  }

  /** Status detail for the CLI and the status page (GET /v1/services, GET /v1/status), by revision key. */
  revisionDetails(): Record<string, RevisionDetail> {
    return revisionDetails(this.#running.values(), this.#pods);
  }

  #stateOfServices(now: number): Record<string, ServiceState> {
    return serviceStates(this.#services, this.#deps.config.domain, now);
  }

  /** In a cluster an hpa-class revision's count is its HorizontalPodAutoscaler's. */
  #followsHpa(runtime: RevisionRuntime): boolean {
    return this.#deps.config.platform === "kubernetes" && runtime.autoscaling.class === "hpa";
  }

  #scale(runtime: RevisionRuntime, scale: number, mode: RevisionMode): void {
    runtime.mode = mode;
    if (runtime.desired === scale) return;
    const { namespace, name } = runtime.revision;
    this.#deps.log.info({ namespace, revision: name, from: runtime.desired, to: scale }, "scaling");
    runtime.desired = scale;
    this.#deps.platform.scale(runtime.key, scale);
  }

  #track(runtime: RevisionRuntime): void {
    this.#running.set(runtime.key, runtime);
    this.#deps.platform.ensureRevision(runtime.template);
  }

  /** A revision that goes (collected, or gone from the cluster): out of the running set, metrics, store and platform. */
  #forget(runtime: RevisionRuntime, why: string): void {
    const { namespace, name } = runtime.revision;
    this.#deps.log.info({ namespace, revision: name }, why);
    this.#running.delete(runtime.key);
    this.#deps.metrics.forget(runtime);
    this.#deps.store?.deleteRevision(namespace, name);
    // A failed delete (the API away) is said, not thrown: the next sync or collection tries again.
    this.#deps.platform
      .deleteRevision(runtime.key)
      .catch((error) =>
        this.#deps.log.warn(
          { err: error, namespace, revision: name },
          "could not delete the revision; will retry",
        ),
      );
  }

  #onPodsChanged(): void {
    const now = Date.now();
    for (const runtime of this.#running.values()) {
      if (runtime.readyAt !== undefined) continue;
      if (this.#pods(runtime.key)?.pods.some((pod) => pod.phase === "ready")) {
        runtime.readyAt = now;
        this.#deps.store?.markReady(runtime.revision.namespace, runtime.revision.name, now);
      }
    }
    if (this.#restored) this.publish(now);
  }
}
