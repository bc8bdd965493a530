import { TOKEN_ENV } from "../common/api-token.ts";
import { EnvReader } from "../common/env.ts";
import { MIN_HOP_SECRET_LENGTH } from "../common/hop-auth.ts";
import { DEFAULT_LIMITS, type ListenerLimits, readListenerLimits } from "../common/http/listener-limits.ts";
import { hostnameOf, isLoopbackName } from "./allowed-host.ts";

/** Shortest SLUICE_TOKEN accepted: the hop secret's minimum. */
export const MIN_TOKEN_LENGTH = MIN_HOP_SECRET_LENGTH;

/** The autoscaler's settings, from its environment, parsed once at start-up. */
export interface AutoscalerConfig {
  port: number;
  bindAddress: string;
  /** Domain of generated hosts: {service}.{namespace}.{domain}. */
  domain: string;
  /** Where services and revision history persist. */
  stateDir: string;
  tickMs: number;
  scrapeTimeoutMs: number;
  /** Knative's scale-to-zero-grace-period: activator in the path this long before pods go. */
  scaleToZeroGraceMs: number;
  /** Revisions no route references are deleted this long after they stopped being referenced. */
  revisionRetentionMs: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  /** A pod not ready this long after starting counts as a failed start. */
  podStartTimeoutMs: number;
  /** Pods outlive a killed autoscaler this long, for a restarted one to adopt; then they stop. */
  podOrphanGraceMs: number;
  /**
   * AUTOSCALER_RESTORE: at start, `active` runs the stored services that were active (a restart
   * after a crash), `none` marks every stored service inactive (history kept) and adopts no pod.
   */
  restore: "active" | "none";
  /** SLUICE_TOKEN: when set, API requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** Host names the API answers besides loopback ones; "*" = any (only with a token). */
  allowedHosts: string[];
  /** Concurrent GET /v1/state?watch=1 streams; more are refused with 503. */
  maxStateWatchers: number;
  /** Concurrent GET /v1/logs?follow=1 streams; more are refused with 503. */
  maxLogFollowers: number;
  /** The API port's header timeout, keep-alive, connection cap and header size (AUTOSCALER_*). */
  limits: ListenerLimits;
}

/** AUTOSCALER_ALLOWED_HOSTS: comma-separated host names (no port), or "*". */
function allowedHosts(env: EnvReader): string[] {
  const raw = env.optionalString("AUTOSCALER_ALLOWED_HOSTS");
  if (raw === undefined) return [];
  const names: string[] = [];
  for (const entry of raw.split(",").map((name) => name.trim().toLowerCase())) {
    if (entry === "") continue;
    const name = entry === "*" ? entry : hostnameOf(entry);
    // Matching compares names only; a port here would be silently ignored, so it is refused.
    if (name === undefined || (name !== entry && `[${name}]` !== entry))
      env.problem(
        `AUTOSCALER_ALLOWED_HOSTS: ${JSON.stringify(entry)} is not a host name (no port, no scheme)`,
      );
    else names.push(name);
  }
  return names;
}

function restoreMode(env: EnvReader): AutoscalerConfig["restore"] {
  const value = env.string("AUTOSCALER_RESTORE", "active");
  if (value === "active" || value === "none") return value;
  env.problem(`AUTOSCALER_RESTORE=${JSON.stringify(value)}: expected active or none`);
  return "active";
}

export function loadConfig(source: Record<string, string | undefined> = process.env): AutoscalerConfig {
  const env = new EnvReader("autoscaler", source);
  const config: AutoscalerConfig = {
    port: env.port("AUTOSCALER_PORT", 8090, { allowZero: true }),
    bindAddress: env.string("AUTOSCALER_BIND_ADDRESS", "127.0.0.1"),
    domain: env.string("SLUICE_DOMAIN", "example.com"),
    stateDir: env.string("SLUICE_STATE_DIR", ".sluice"),
    tickMs: env.number("AUTOSCALER_TICK_SECONDS", 1, { min: 0.05, max: 60 }) * 1000,
    scrapeTimeoutMs: env.number("AUTOSCALER_SCRAPE_TIMEOUT_SECONDS", 0.5, { min: 0.05, max: 30 }) * 1000,
    scaleToZeroGraceMs: env.number("SCALE_TO_ZERO_GRACE_SECONDS", 30, { min: 0, max: 3600 }) * 1000,
    revisionRetentionMs:
      env.number("REVISION_RETENTION_SECONDS", 48 * 3600, { min: 0, max: 365 * 86400 }) * 1000,
    maxScaleUpRate: env.number("MAX_SCALE_UP_RATE", 1000, { min: 1.01, max: 1e6 }),
    maxScaleDownRate: env.number("MAX_SCALE_DOWN_RATE", 2, { min: 1.01, max: 1e6 }),
    podStartTimeoutMs: env.number("POD_START_TIMEOUT_SECONDS", 120, { min: 1, max: 3600 }) * 1000,
    podOrphanGraceMs: env.number("POD_ORPHAN_GRACE_SECONDS", 60, { min: 1, max: 86400 }) * 1000,
    restore: restoreMode(env),
    token: env.optionalString(TOKEN_ENV),
    allowedHosts: allowedHosts(env),
    maxStateWatchers: env.int("AUTOSCALER_MAX_STATE_WATCHERS", 256, { min: 1, max: 100_000 }),
    maxLogFollowers: env.int("AUTOSCALER_MAX_LOG_FOLLOWERS", 32, { min: 1, max: 10_000 }),
    // Watches, stats pushes and the CLI: far fewer clients than a data-plane port.
    limits: readListenerLimits(env, "AUTOSCALER", { ...DEFAULT_LIMITS, maxConnections: 1024 }),
  };
  // As long as the hop secret must be: a guessable token would be no guard at all.
  if (config.token !== undefined && config.token.length < MIN_TOKEN_LENGTH)
    env.problem(
      `${TOKEN_ENV}: at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32), got ${config.token.length}`,
    );
  // The API can start processes: never open it to a network without a token.
  if (config.token === undefined && !isLoopbackName(config.bindAddress))
    env.problem(
      `AUTOSCALER_BIND_ADDRESS=${config.bindAddress} listens off loopback: set ${TOKEN_ENV} too (the API can start processes, so it needs a bearer token there)`,
    );
  if (config.token === undefined && config.allowedHosts.includes("*"))
    env.problem(`AUTOSCALER_ALLOWED_HOSTS=* answers any Host: set ${TOKEN_ENV} too`);
  env.finish();
  return config;
}
