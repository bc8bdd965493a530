import { connect } from "node:net";
import type { ReadinessProbe } from "./config.ts";
import { type HttpGet, nodeHttpGet } from "./http-probe.ts";

/** While the app is not ready, probe at most this often: a fast cold start waits ~10 ms for it. */
const STARTUP_PERIOD_MS = 20;
/**
 * ...and no more often than every 1/20 of the time it has been waiting: an app that boots for
 * seconds is not probed 50 times a second (each refused connect costs CPU and garbage), and its
 * readiness is still seen within ~5 % of its boot time.
 */
const STARTUP_BACKOFF_DIVISOR = 20;

/** How long to wait before the next probe of an app not ready for `waitedMs`. */
export function notReadyProbeDelay(waitedMs: number, periodMs: number): number {
  return Math.min(
    Math.max(STARTUP_PERIOD_MS, waitedMs / STARTUP_BACKOFF_DIVISOR),
    Math.max(periodMs, STARTUP_PERIOD_MS),
  );
}
/** Consecutive failures after which a ready app counts as not ready (Kubernetes' default). */
const FAILURE_THRESHOLD = 3;

/** One probe of the app: a TCP connect, or an HTTP GET sent by `httpGet` (http-probe.ts). */
export function probeOnce(probe: ReadinessProbe, httpGet: HttpGet = nodeHttpGet): Promise<boolean> {
  if (probe.kind === "http") return httpGet(probe);
  return new Promise((resolve) => {
    const socket = connect({ host: probe.host, port: probe.port, timeout: probe.timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Probes the app aggressively until it answers, then at the probe's period. `ready` is what the
 * admin /readyz and K-Network-Probe answers report.
 */
export class ReadinessProber {
  ready = false;
  readonly #probe: ReadinessProbe;
  readonly #check: (probe: ReadinessProbe) => Promise<boolean>;
  #failures = 0;
  /** Since when the app has not been ready (start, or its last turn to not ready). */
  #notReadySince = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Callers of whenReady() still waiting. */
  readonly #waiting = new Set<() => void>();
  #stopped = false;
  readonly #onChange: (ready: boolean) => void;

  constructor(
    probe: ReadinessProbe,
    onChange: (ready: boolean) => void = () => {},
    check: (probe: ReadinessProbe) => Promise<boolean> = probeOnce,
  ) {
    this.#probe = probe;
    this.#onChange = onChange;
    this.#check = check;
  }

  start(): void {
    this.#notReadySince = Date.now();
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake();
  }

  /**
   * Resolves once the app is ready, or after `timeoutMs`, on stop, or when `signal` aborts (the
   * asker went away): the admin /readyz?wait= long poll, which lets the local platform learn of a
   * ready pod at once instead of polling.
   */
  whenReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.ready || this.#stopped || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.#waiting.add(done);
    });
  }

  /** Askers still waiting in whenReady (for tests: an aborted one must not stay). */
  get waiting(): number {
    return this.#waiting.size;
  }

  #wake(): void {
    for (const done of [...this.#waiting]) done();
  }

  async #tick(): Promise<void> {
    const ok = await this.#check(this.#probe);
    if (this.#stopped) return;
    if (ok) {
      this.#failures = 0;
      if (!this.ready) this.#set(true);
    } else if (this.ready && ++this.#failures >= FAILURE_THRESHOLD) {
      this.#set(false);
    }
    const delay = this.ready
      ? this.#probe.periodMs
      : notReadyProbeDelay(Date.now() - this.#notReadySince, this.#probe.periodMs);
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }

  #set(ready: boolean): void {
    this.ready = ready;
    if (!ready) this.#notReadySince = Date.now();
    this.#onChange(ready);
    if (ready) this.#wake();
  }
}
