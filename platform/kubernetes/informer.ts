/**
 * An informer for one resource: list, then watch from the list's resourceVersion, keeping a cache
 * of the objects by key ("namespace/name", or "name" for cluster-scoped kinds) and telling
 * handlers which keys were added, updated or deleted. client-go's reflector + DeltaFIFO + indexer,
 * reduced to what a level-triggered reconciler needs:
 *
 * - 410 Gone (an HTTP 410, or an ERROR event with code 410 in the stream: the resourceVersion
 *   is older than the server keeps) → relist, and emit the differences between the cache and
 *   the fresh list (adds, updates and the deletes the watch never delivered);
 * - a watch that ends (the server's timeout) → watch again from the last resourceVersion seen;
 * - a watch or list that fails (the API server restarting, the network) → retry after a jittered,
 *   capped exponential back-off, from the last resourceVersion seen (a 410 then relists);
 * - every `resyncMs`, every cached key again (type "resync"), so reconcilers revisit everything.
 *
 * Why not client-node's `makeInformer`/`ListWatch` (2.0.1): it handles 410 (relist, deletes
 * included) but on any other error — which is what an API server restart produces — it calls the
 * error handlers and stops for good, leaving the restart to the caller; its back-off has no
 * jitter; it has no resync; and a `stop()` while a list or the watch's connect is in flight still
 * opens the watch afterwards (it aborts only a request it already holds). Its `Watch` class is
 * sound, so it is used here for the stream (auth and TLS from the KubeConfig); lists are plain
 * fetches with the same authentication, paged with `limit`/`continue`.
 */
import { HttpMethod, type KubeConfig, RequestContext, Watch } from "@kubernetes/client-node";
import { fetch } from "undici";
import { isStatus } from "./api-status.ts";
import { type BackoffOptions, backoffDelay } from "./backoff.ts";

export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export type InformerEventType = "add" | "update" | "delete" | "resync";

export interface InformerEvent<T extends KubeObject> {
  type: InformerEventType;
  key: string;
  /** The object as now cached; for "delete", its last known state. */
  object: T;
}

export interface InformerOptions {
  /** Re-emit every cached key this often (0: never). Default 10 minutes. */
  resyncMs?: number;
  /** Reconnect back-off after failures in a row. Default 250 ms doubling to 30 s, +50 % jitter. */
  backoff?: BackoffOptions;
  /** Ask for BOOKMARK events (the resourceVersion moves on while nothing changes). Default true. */
  bookmarks?: boolean;
  /** Page size for lists. Default 500. */
  pageSize?: number;
  /** How long the server keeps one watch open before it ends it; randomized up to twice this. */
  watchTimeoutSeconds?: number;
  /** A watch that sends nothing (not even a bookmark) for this long is dropped and reopened. */
  idleTimeoutMs?: number;
  /** Waits before a retry; tests replace it to hold a reconnect. */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Told about each failure (for logs). */
  onError?: (error: unknown) => void;
}

export const DEFAULT_INFORMER_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000, jitter: 0.5 };

/** client-go's MetaNamespaceKeyFunc. */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

/** The collection path for a resource, e.g. /api/v1/namespaces/ns/configmaps. */
export function resourcePath(resource: ResourceRef): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  const ns = resource.namespace ? `/namespaces/${encodeURIComponent(resource.namespace)}` : "";
  return `${base}${ns}/${resource.plural}`;
}

/** An error from the API server with its HTTP status (410 Gone, 409 Conflict, …). */
export class StatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

interface ListPage<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceRef;
  readonly #kubeConfig: KubeConfig;
  readonly #options: Required<Omit<InformerOptions, "onError">> & Pick<InformerOptions, "onError">;
  readonly #cache = new Map<string, T>();
  readonly #handlers: ((event: InformerEvent<T>) => void)[] = [];
  readonly #stop = new AbortController();
  #resourceVersion = "";
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #running: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #watchAbort: AbortController | undefined;
  /** Counters, for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, gone: 0, failures: 0 };

  constructor(kubeConfig: KubeConfig, resource: ResourceRef, options: InformerOptions = {}) {
    this.#kubeConfig = kubeConfig;
    this.resource = resource;
    this.#options = {
      resyncMs: options.resyncMs ?? 10 * 60_000,
      backoff: options.backoff ?? DEFAULT_INFORMER_BACKOFF,
      bookmarks: options.bookmarks ?? true,
      pageSize: options.pageSize ?? 500,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      idleTimeoutMs: options.idleTimeoutMs ?? 90_000,
      delay: options.delay ?? abortableDelay,
      onError: options.onError,
    };
  }

  /** Registers a handler for add/update/delete/resync events (call before start). */
  on(handler: (event: InformerEvent<T>) => void): this {
    this.#handlers.push(handler);
    return this;
  }

  /** Starts listing and watching; resolves once the first list has filled the cache. */
  async start(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#run();
      if (this.#options.resyncMs > 0) {
        this.#resyncTimer = setInterval(() => this.resync(), this.#options.resyncMs);
        this.#resyncTimer.unref();
      }
    }
    await this.waitForSync();
  }

  /** Stops watching; resolves once no request is open. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#watchAbort?.abort();
    clearInterval(this.#resyncTimer);
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
    await this.#running;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** The last resourceVersion seen (of a list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  waitForSync(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Emits every cached key (type "resync"). */
  resync(): void {
    for (const [key, object] of this.#cache) this.#emit({ type: "resync", key, object });
  }

  #emit(event: InformerEvent<T>): void {
    for (const handler of this.#handlers) {
      try {
        handler(event);
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    let failures = 0;
    while (!stopped.aborted) {
      try {
        if (!this.#resourceVersion) await this.#relist();
        const opened = Date.now();
        const sawEvents = await this.#watch();
        if (sawEvents) failures = 0;
        else if (Date.now() - opened < 1000 && !stopped.aborted) {
          // Closed at once with nothing said: back off as after a failure, not spin.
          failures++;
          await this.#options.delay(backoffDelay(this.#options.backoff, failures), stopped);
        }
      } catch (error) {
        if (stopped.aborted) break;
        if (isStatus(error, 410)) {
          // Too old: list afresh at once (a second 410 in a row backs off like any failure).
          this.stats.gone++;
          this.#resourceVersion = "";
          if (failures === 0) {
            failures = 1;
            continue;
          }
        }
        this.stats.failures++;
        this.#options.onError?.(error);
        failures++;
        await this.#options.delay(backoffDelay(this.#options.backoff, failures), stopped);
      }
    }
  }

  #headersFor(url: string): Promise<{ headers: Record<string, string>; dispatcher: unknown }> {
    const ctx = new RequestContext(url, HttpMethod.GET);
    return this.#kubeConfig.applySecurityAuthentication(ctx).then(() => ({
      headers: ctx.getHeaders(),
      dispatcher: ctx.getDispatcher(),
    }));
  }

  /** Lists everything (paged), replaces the cache and emits the differences. */
  async #relist(): Promise<void> {
    const server = this.#kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error("the KubeConfig has no current cluster");
    this.stats.lists++;
    const items: T[] = [];
    let resourceVersion = "";
    let token = "";
    do {
      const url = new URL(server + resourcePath(this.resource));
      url.searchParams.set("limit", String(this.#options.pageSize));
      if (token) url.searchParams.set("continue", token);
      if (this.resource.labelSelector) url.searchParams.set("labelSelector", this.resource.labelSelector);
      if (this.resource.fieldSelector) url.searchParams.set("fieldSelector", this.resource.fieldSelector);
      const { headers, dispatcher } = await this.#headersFor(url.toString());
      const res = await fetch(url, {
        headers: { ...headers, accept: "application/json" },
        // biome-ignore lint/suspicious/noExplicitAny: client-node's undici Dispatcher type
        dispatcher: dispatcher as any,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(60_000)]),
      });
      if (!res.ok) {
        const text = await res.text().catch(() => "");
        throw new StatusError(res.status, `list ${resourcePath(this.resource)}: ${res.status} ${text}`);
      }
      const page = (await res.json()) as ListPage<T>;
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? "";
      token = page.metadata?.continue ?? "";
    } while (token);
    if (this.#stop.signal.aborted) return;

    const seen = new Set<string>();
    const apiVersion = this.resource.group
      ? `${this.resource.group}/${this.resource.version}`
      : this.resource.version;
    for (const item of items) {
      // List items come without apiVersion and kind; give them what a watch event's object has.
      item.apiVersion ??= apiVersion;
      const key = objectKey(item);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, item);
      if (!old) this.#emit({ type: "add", key, object: item });
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        this.#emit({ type: "update", key, object: item });
      }
    }
    for (const [key, old] of this.#cache) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#emit({ type: "delete", key, object: old });
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  /**
   * One watch from the current resourceVersion, until it ends. Resolves (with whether any event
   * came) when the server ends it or it idles out; rejects on a failure, or with a 410.
   */
  async #watch(): Promise<boolean> {
    this.stats.watches++;
    const watch = new Watch(this.#kubeConfig);
    // Private in its typings but a plain field: the idle timeout after which it aborts the stream.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.#options.idleTimeoutMs;
    const timeoutSeconds = Math.round(this.#options.watchTimeoutSeconds * (1 + Math.random()));
    const params: Record<string, string | number | boolean> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: this.#options.bookmarks,
      timeoutSeconds,
    };
    if (this.resource.labelSelector) params.labelSelector = this.resource.labelSelector;
    if (this.resource.fieldSelector) params.fieldSelector = this.resource.fieldSelector;

    let sawEvents = false;
    let failure: unknown;
    const ended = new Promise<unknown>((resolve) => {
      const onEvent = (type: string, object: T & { code?: number; message?: string }) => {
        if (failure !== undefined || this.#stop.signal.aborted) return;
        sawEvents = true;
        switch (type) {
          case "ADDED":
          case "MODIFIED": {
            const key = objectKey(object);
            const old = this.#cache.get(key);
            this.#cache.set(key, object);
            this.#emit({ type: old ? "update" : "add", key, object });
            break;
          }
          case "DELETED": {
            const key = objectKey(object);
            this.#cache.delete(key);
            this.#emit({ type: "delete", key, object });
            break;
          }
          case "BOOKMARK":
            break;
          case "ERROR":
            failure = new StatusError(object.code ?? 500, `watch: ${object.message ?? "error event"}`);
            this.#watchAbort?.abort();
            return;
          default:
            return;
        }
        const rv = object.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
      };
      watch
        .watch(resourcePath(this.resource), params, onEvent, (error) => resolve(error ?? null))
        .then((controller) => {
          this.#watchAbort = controller;
          if (this.#stop.signal.aborted || failure !== undefined) controller.abort();
        })
        .catch(resolve);
    });
    const error = await ended;
    this.#watchAbort = undefined;
    if (this.#stop.signal.aborted) return sawEvents;
    if (failure !== undefined) throw failure;
    if (error && (error as Error).name !== "TimeoutError") throw error;
    return sawEvents;
  }
}
