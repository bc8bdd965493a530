import type { ActivatorStats } from "../common/activator-stats.ts";
import { parseDuration } from "../common/duration.ts";
import type { Logger } from "../common/log.ts";
import type { PodStats } from "../common/pod-stats.ts";
import { type RevisionState, revisionKey, type ServiceState, serviceKey } from "../common/state.ts";
import type { LogFilter, LogLine, Platform } from "../platform/platform.ts";
import type { AutoscalingSpec } from "../serving/autoscaling.ts";
import { formatProblem, type LoadedService, loadManifests } from "../serving/load.ts";
import type { ServiceManifest } from "../serving/manifest.ts";
import type { RevisionStore } from "../serving/revision-store.ts";
import { type Revision, revisionFor } from "../serving/revisions.ts";
import { applyRollout, resolveRoute, rolloutPercent } from "../serving/routes.ts";
import { scheduledMinScale } from "../serving/schedule.ts";
import { localRunnable, ROLLOUT_ANNOTATION, validateServices } from "../serving/validate.ts";
import type { AutoscalerConfig } from "./config.ts";
import type { AutoscalerMetrics } from "./metrics.ts";
import { revisionLoad } from "./revision-load.ts";
import { createRuntime, type RevisionRuntime } from "./revision-runtime.ts";
import { scrapeAll } from "./scraper.ts";
import type { StatePublisher } from "./state-publisher.ts";

export interface ApplyResult {
  ok: boolean;
  problems: string[];
  applied: { service: string; namespace: string; revision: string; created: boolean }[];
}

interface ServiceEntry {
  manifest: ServiceManifest;
  /** Oldest first. */
  revisions: RevisionRuntime[];
  /**
   * Runs (routes, pods). An inactive service was applied in an earlier run and not since: only its
   * history is kept (its revision numbering continues), until it is applied again.
   */
  active: boolean;
}

/** One revision as the controller sees it, for status (read-only). */
export interface RevisionDetail {
  desired: number;
  mode: RevisionState["mode"];
  readyPods: number;
  /** Pods the platform has, ready or not. */
  pods: number;
  metric: AutoscalingSpec["metric"];
  /** Per-pod target of `metric`, before utilization. */
  target: number;
  /** The KPA's stable- and panic-window averages of `metric`. */
  observedStable: number;
  observedPanic: number;
  panicking: boolean;
  /** Revision-wide concurrency and requests per second at the last tick. */
  concurrency: number;
  rps: number;
}

export interface ControllerDeps {
  config: AutoscalerConfig;
  platform: Platform;
  store: RevisionStore;
  publisher: StatePublisher;
  metrics: AutoscalerMetrics;
  log: Logger;
}

/**
 * The autoscaler's core: applies Service manifests, keeps revisions at the scale their load asks
 * for, and publishes the resulting state for the router and activator.
 */
export class Controller {
  readonly #deps: ControllerDeps;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #byRevision = new Map<string, RevisionRuntime>();
  #ticking = false;
  /** Until restore() has adopted the pods left running, pod changes are not published. */
  #restored = false;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
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
    if (config.restore === "none") store.deactivateAll();
    for (const { manifest, active } of store.services()) {
      const namespace = manifest.metadata.namespace ?? "default";
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
    for (const runtime of this.#byRevision.values()) {
      runtime.desired = this.#deps.platform.revision(runtime.key)?.desired ?? 0;
    }
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
      .map((entry) => ({
        namespace: entry.manifest.metadata.namespace ?? "default",
        name: entry.manifest.metadata.name,
      }));
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
    const { documents, services, problems } = loadManifests(text, file);
    const known = (namespace: string, name: string) =>
      this.#services.get(serviceKey(namespace, name))?.revisions.map((r) => r.revision.name) ?? [];
    const running = [...this.#services.values()]
      .filter((entry) => entry.active)
      .map((entry) => entry.manifest);
    const messages = [...problems, ...validateServices(documents, known, running)].map(formatProblem);
    for (const loaded of services) {
      const reason = localRunnable(loaded.manifest);
      if (reason) messages.push(`${loaded.file}:${loaded.line}: ${loaded.manifest.metadata.name}: ${reason}`);
    }
    const planned: { loaded: LoadedService; revision: Revision; created: boolean }[] = [];
    // A service given more than once is successive versions: each sees the revisions before it.
    const histories = new Map<string, Revision[]>();
    // Revision names are unique per namespace: a new one must not be another service's already.
    const owners = new Map<string, string>();
    for (const entry of this.#services.values())
      for (const runtime of entry.revisions) owners.set(runtime.key, runtime.revision.service);
    for (const loaded of services) {
      const key = serviceKey(loaded.manifest.metadata.namespace ?? "default", loaded.manifest.metadata.name);
      const history = histories.get(key) ?? this.#services.get(key)?.revisions.map((r) => r.revision) ?? [];
      const result = revisionFor(loaded.manifest, history, now);
      const at = `${loaded.file}:${loaded.line}`;
      if ("error" in result) messages.push(`${at}: ${result.error}`);
      else if (result.created && owners.has(revisionKey(result.revision.namespace, result.revision.name))) {
        const { namespace, name } = result.revision;
        const owner = `${namespace}/${owners.get(revisionKey(namespace, name))}`;
        messages.push(
          `${at}: spec.template.metadata.name: revision ${namespace}/${name} already belongs to service ${owner}; choose another name`,
        );
      } else {
        planned.push({ loaded, ...result });
        if (result.created)
          owners.set(revisionKey(result.revision.namespace, result.revision.name), result.revision.service);
      }
      histories.set(key, "revision" in result && result.created ? [...history, result.revision] : history);
    }
    if (messages.length > 0) return { ok: false, problems: messages, applied: [] };

    this.#deps.store.apply(
      planned.map((p) => p.loaded.manifest),
      planned.filter((p) => p.created).map((p) => p.revision),
      now,
    );
    for (const { loaded, revision, created } of planned) {
      const manifest = loaded.manifest;
      const key = serviceKey(manifest.metadata.namespace ?? "default", manifest.metadata.name);
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
          this.#deps.store.markReady(revision.namespace, revision.name, runtime.readyAt);
        entry.revisions.push(runtime);
        this.#track(runtime);
      }
      this.#services.set(key, entry);
    }
    this.#deps.log.info({ applied: planned.map((p) => p.revision.name) }, "applied services");
    void this.tick();
    return {
      ok: true,
      problems: [],
      applied: planned.map(({ loaded, revision, created }) => ({
        service: loaded.manifest.metadata.name,
        namespace: loaded.manifest.metadata.namespace ?? "default",
        revision: revision.name,
        created,
      })),
    };
  }

  /** The activator's push; a poke for a revision at zero scales it up now, not at the next tick. */
  activatorStats(push: ActivatorStats, now = Date.now()): string[] {
    const unknown: string[] = [];
    for (const stats of push.revisions) {
      const key = revisionKey(stats.namespace, stats.revision);
      const runtime = this.#byRevision.get(key);
      if (!runtime) {
        unknown.push(key);
        continue;
      }
      runtime.activatorStats.set(push.activator, stats);
      if (stats.poke && runtime.desired === 0) {
        runtime.decider.record(now, Math.max(1, stats.averageConcurrency));
        this.#scale(
          runtime,
          Math.max(1, runtime.autoscaling.activationScale, runtime.autoscaling.minScale),
          "proxy",
        );
        this.#deps.log.info(
          { namespace: stats.namespace, revision: stats.revision },
          "poked: scaling up from zero",
        );
        this.publish();
      }
    }
    return unknown;
  }

  /** One autoscaling round: scrape every ready pod, decide, scale, publish. */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const { platform, config } = this.#deps;
      const targets = [...this.#byRevision.values()].flatMap((runtime) =>
        (platform.revision(runtime.key)?.pods ?? [])
          .filter((pod) => pod.phase === "ready" && pod.adminUrl)
          .map((pod) => ({
            revisionKey: runtime.key,
            pod: pod.name,
            adminUrl: pod.adminUrl as string,
          })),
      );
      const scraped = await scrapeAll(targets, { timeoutMs: config.scrapeTimeoutMs });
      const podStats = new Map<string, PodStats[]>();
      for (const result of scraped) {
        if ("stats" in result)
          podStats.set(result.target.revisionKey, [
            ...(podStats.get(result.target.revisionKey) ?? []),
            result.stats,
          ]);
      }
      const services = this.#serviceStates(Date.now());
      const referenced = this.#referencedRevisions(services);
      const decidedAt = Date.now();
      for (const runtime of this.#byRevision.values()) {
        this.#decide(runtime, podStats.get(runtime.key) ?? [], referenced.has(runtime.key), decidedAt);
      }
      this.#collectGarbage(referenced, decidedAt);
      this.publish(decidedAt, services);
    } catch (error) {
      // One failed round must not stop autoscaling: log it; the next tick starts afresh.
      this.#deps.log.error({ err: error }, "tick failed; the next one runs as usual");
    } finally {
      this.#ticking = false;
    }
  }

  #decide(runtime: RevisionRuntime, pods: PodStats[], referenced: boolean, now: number): void {
    const platformPods = this.#deps.platform.revision(runtime.key);
    const readyPods = platformPods?.pods.filter((pod) => pod.phase === "ready").length ?? 0;
    const load = revisionLoad(pods, [...runtime.activatorStats.values()]);
    runtime.activatorStats.clear();
    const value = runtime.autoscaling.metric === "rps" ? load.rps : load.concurrency;
    if (pods.length > 0 || readyPods === 0) {
      runtime.decider.record(now, value);
      runtime.load = load;
    }
    const decision = runtime.decider.decide(now, readyPods);
    runtime.lastDecision = decision;
    if (!referenced) {
      runtime.unreferencedSince ??= now;
      this.#scale(runtime, 0, "proxy");
    } else {
      runtime.unreferencedSince = undefined;
      const { scale, mode } = runtime.bounds.apply({
        now,
        wanted: decision.desiredPods,
        excessBurstCapacity: decision.excessBurstCapacity,
        current: runtime.desired,
        readyPods,
        scheduledMin: scheduledMinScale(runtime.schedule, new Date(now)),
      });
      this.#scale(runtime, scale, mode);
    }
    this.#deps.metrics.record(runtime, readyPods, platformPods?.pods.length ?? 0);
  }

  #scale(runtime: RevisionRuntime, scale: number, mode: RevisionState["mode"]): void {
    runtime.mode = mode;
    if (runtime.desired === scale) return;
    const { namespace, name } = runtime.revision;
    this.#deps.log.info({ namespace, revision: name, from: runtime.desired, to: scale }, "scaling");
    runtime.desired = scale;
    this.#deps.platform.scale(runtime.key, scale);
  }

  #track(runtime: RevisionRuntime): void {
    this.#byRevision.set(runtime.key, runtime);
    this.#deps.platform.ensureRevision(runtime.template);
  }

  #onPodsChanged(): void {
    const now = Date.now();
    for (const runtime of this.#byRevision.values()) {
      if (runtime.readyAt !== undefined) continue;
      if (this.#deps.platform.revision(runtime.key)?.pods.some((pod) => pod.phase === "ready")) {
        runtime.readyAt = now;
        this.#deps.store.markReady(runtime.revision.namespace, runtime.revision.name, now);
      }
    }
    if (this.#restored) this.publish(now);
  }

  /** Keys of the revisions some route sends traffic to (0 % tagged targets included: they stay routable). */
  #referencedRevisions(services: Record<string, ServiceState>): Set<string> {
    const referenced = new Set<string>();
    for (const service of Object.values(services)) {
      for (const target of service.traffic) referenced.add(revisionKey(service.namespace, target.revision));
    }
    // The latest created revision is always kept: it is where latestRevision traffic goes next.
    for (const entry of this.#services.values()) {
      const latest = entry.revisions.at(-1);
      if (latest && entry.active) referenced.add(latest.key);
    }
    return referenced;
  }

  #collectGarbage(referenced: Set<string>, now: number): void {
    for (const entry of this.#services.values()) {
      if (!entry.active) continue; // history only: nothing runs, nothing to collect
      entry.revisions = entry.revisions.filter((runtime) => {
        const expired =
          !referenced.has(runtime.key) &&
          runtime.unreferencedSince !== undefined &&
          now - runtime.unreferencedSince >= this.#deps.config.revisionRetentionMs &&
          runtime.desired === 0;
        if (!expired) return true;
        const { namespace, name } = runtime.revision;
        this.#deps.log.info({ namespace, revision: name }, "garbage-collecting unreferenced revision");
        this.#byRevision.delete(runtime.key);
        this.#deps.metrics.forget(runtime);
        this.#deps.store.deleteRevision(namespace, name);
        void this.#deps.platform.deleteRevision(runtime.key);
        return false;
      });
    }
  }

  #serviceStates(now: number): Record<string, ServiceState> {
    const services: Record<string, ServiceState> = {};
    for (const [key, entry] of this.#services) {
      const latest = entry.revisions.at(-1);
      if (!latest || !entry.active) continue;
      const readyRevisions = entry.revisions.filter((r) => r.readyAt !== undefined);
      const latestReady = readyRevisions.at(-1);
      const route = resolveRoute(
        entry.manifest,
        { created: latest.revision.name, ready: latestReady?.revision.name },
        this.#deps.config.domain,
      );
      let traffic = route.traffic;
      const rolloutMs = parseDuration(entry.manifest.metadata.annotations?.[ROLLOUT_ANNOTATION] ?? "") ?? 0;
      const previousReady = readyRevisions.at(-2);
      if (rolloutMs > 0 && latestReady?.readyAt !== undefined && previousReady) {
        const percent = rolloutPercent(latestReady.readyAt, rolloutMs, now);
        traffic = applyRollout(traffic, latestReady.revision.name, previousReady.revision.name, percent);
      }
      services[key] = {
        name: entry.manifest.metadata.name,
        namespace: entry.manifest.metadata.namespace ?? "default",
        hosts: route.hosts,
        traffic,
        tags: route.tags,
        latestCreatedRevision: latest.revision.name,
        latestReadyRevision: latestReady?.revision.name,
      };
    }
    return services;
  }

  /** Builds the whole state and hands it to the publisher (which sends only what changed). */
  publish(now = Date.now(), services = this.#serviceStates(now)): void {
    const revisions: Record<string, RevisionState> = {};
    for (const runtime of this.#byRevision.values()) {
      const pods = this.#deps.platform.revision(runtime.key);
      const spec = runtime.revision.template.spec;
      revisions[runtime.key] = {
        name: runtime.revision.name,
        service: runtime.revision.service,
        namespace: runtime.revision.namespace,
        mode: runtime.mode,
        containerConcurrency: spec.containerConcurrency ?? 0,
        timeoutSeconds: spec.timeoutSeconds ?? 300,
        ...(spec.responseStartTimeoutSeconds
          ? { responseStartTimeoutSeconds: spec.responseStartTimeoutSeconds }
          : {}),
        ...(spec.idleTimeoutSeconds ? { idleTimeoutSeconds: spec.idleTimeoutSeconds } : {}),
        protocol: runtime.template.protocol,
        desiredPods: runtime.desired,
        endpoints: (pods?.pods ?? [])
          .filter((pod) => pod.phase === "ready" && pod.url)
          .map((pod) => ({ pod: pod.name, url: pod.url as string })),
        ...(pods?.failure ? { failure: pods.failure } : {}),
      };
    }
    this.#deps.publisher.publish(services, revisions);
  }

  /** Status detail for the CLI and the status page (GET /v1/services, GET /v1/status), by revision key. */
  revisionDetails(): Record<string, RevisionDetail> {
    const out: Record<string, RevisionDetail> = {};
    for (const runtime of this.#byRevision.values()) {
      const pods = this.#deps.platform.revision(runtime.key)?.pods ?? [];
      out[runtime.key] = {
        desired: runtime.desired,
        mode: runtime.mode,
        readyPods: pods.filter((pod) => pod.phase === "ready").length,
        pods: pods.length,
        metric: runtime.autoscaling.metric,
        target: runtime.autoscaling.target,
        observedStable: runtime.lastDecision?.observedStable ?? 0,
        observedPanic: runtime.lastDecision?.observedPanic ?? 0,
        panicking: runtime.lastDecision?.panicking ?? false,
        concurrency: runtime.load.concurrency,
        rps: runtime.load.rps,
      };
    }
    return out;
  }
}
