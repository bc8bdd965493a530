import { availableParallelism, freemem, hostname } from "node:os";
import { TOKEN_ENV } from "../common/api-token.ts";
import { EnvReader } from "../common/env.ts";
import { MIN_HOP_SECRET_LENGTH, parseHopSecret } from "../common/hop-auth.ts";
import { DEFAULT_LIMITS, type ListenerLimits, readListenerLimits } from "../common/http/listener-limits.ts";
import { type LogLevel, readLogLevel } from "../common/log.ts";
import { KNATIVE_GROUP, type ServingGroup, SLUICE_GROUP } from "../platform/kubernetes/names.ts";
import { DEFAULT_POD_MEMORY_MB, type LocalCapacity, machineCapacity } from "../platform/local/capacity.ts";
import { hostnameOf, isLoopbackName } from "./allowed-host.ts";

/** Shortest SLUICE_TOKEN accepted: the hop secret's minimum. */
export const MIN_TOKEN_LENGTH = MIN_HOP_SECRET_LENGTH;

/** The autoscaler's settings, from its environment, parsed once at start-up. */
export interface AutoscalerConfig {
  /** LOG_LEVEL. */
  logLevel: LogLevel;
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
  /** SLUICE_PLATFORM: local processes (default), or a Kubernetes cluster's Deployments. */
  platform: "local" | "kubernetes";
  /** Kubernetes mode's settings (SLUICE_PLATFORM=kubernetes only). */
  kubernetes?: KubernetesConfig;
  /** How many pods the local platform runs and starts at once; pods past it wait as pending. */
  localCapacity: LocalCapacityConfig;
  /**
   * SLUICE_EVENTING_ADMIN_URL: eventing's admin port (http://host:port), whose GET /v1/eventing
   * GET /v1/status and the status page include; sluice up sets it when it runs eventing.
   */
  eventingAdminUrl?: string;
}

/** The local platform's capacity, and where it came from (the start-up log says). */
export interface LocalCapacityConfig extends LocalCapacity {
  /** What the machine had at start-up, from which the defaults came. */
  machine: Machine;
  /** SLUICE_LOCAL_POD_MEMORY_MB: the memory one pod is taken to need, for the default maxPods. */
  podMemoryMb: number;
}

/** What capacity is derived from: cores, and free memory at start-up. */
export interface Machine {
  cores: number;
  availableMemoryMb: number;
}

function thisMachine(): Machine {
  return { cores: availableParallelism(), availableMemoryMb: Math.floor(freemem() / 2 ** 20) };
}

/**
 * SLUICE_LOCAL_MAX_PODS (default: 4 per core, bounded by free memory / SLUICE_LOCAL_POD_MEMORY_MB)
 * and SLUICE_LOCAL_MAX_STARTING (default: one per core, at most SLUICE_LOCAL_MAX_PODS).
 */
function localCapacity(env: EnvReader, machine: Machine): LocalCapacityConfig {
  const podMemoryMb = env.number("SLUICE_LOCAL_POD_MEMORY_MB", DEFAULT_POD_MEMORY_MB, {
    min: 1,
    max: 1_000_000,
  });
  const derived = machineCapacity(machine, podMemoryMb);
  const maxPods = env.int("SLUICE_LOCAL_MAX_PODS", derived.maxPods, { min: 1, max: 100_000 });
  const maxStarting = env.int("SLUICE_LOCAL_MAX_STARTING", Math.min(derived.maxStarting, maxPods), {
    min: 1,
    max: 100_000,
  });
  // More starting at once than may exist at all cannot happen: say what applies.
  return { maxPods, maxStarting: Math.min(maxStarting, maxPods), machine, podMemoryMb };
}

/** How the autoscaler runs as the cluster's controller; the chart sets every one of these. */
export interface KubernetesConfig {
  /** SLUICE_SERVING_GROUP: serving.sluice.dev, or serving.knative.dev (Knative manifests unchanged). */
  group: ServingGroup;
  /** SLUICE_LEASE_NAME / SLUICE_LEASE_NAMESPACE (default POD_NAMESPACE): the leader election Lease. */
  lease: { name: string; namespace: string };
  /** POD_NAME (default the host name): this replica in the Lease. */
  identity: string;
  /** SLUICE_LEASE_DURATION_SECONDS: how long a leader that stopped renewing keeps others off. */
  leaseDurationMs: number;
  /** SLUICE_QUEUE_PROXY_IMAGE: the sluice image, whose `queue-proxy` command runs the sidecar. */
  queueProxyImage: string;
  /** SLUICE_HOP_SECRET, copied into each namespace with revisions for their queue-proxies. */
  hopSecret?: string;
  /** SLUICE_KUBECONFIG: a kubeconfig file instead of the pod's service account (running outside). */
  kubeconfig?: string;
  /**
   * SLUICE_EVENTING_INGRESS_URL (the chart sets it with eventing.enabled): SinkBindings are watched
   * and their K_SINK injected; a Broker sink is {ingress}/{namespace}/{broker}. SLUICE_ROUTER_URL
   * (required then) is K_SINK_ROUTER for a Service sink, as eventing sends there.
   */
  sinkBindings?: { brokerIngressUrl: string; routerUrl: string };
}

/** An http(s) URL with no path, query or fragment (a trailing slash dropped), or a problem said. */
function baseUrl(env: EnvReader, name: string, raw: string): string {
  const url = raw.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#]+$/.test(url))
    env.problem(`${name}=${JSON.stringify(raw)}: expected http://host[:port] (no path)`);
  return url;
}

function sinkBindingsConfig(env: EnvReader): KubernetesConfig["sinkBindings"] {
  const ingress = env.optionalString("SLUICE_EVENTING_INGRESS_URL");
  if (ingress === undefined) return undefined;
  const router = env.optionalString("SLUICE_ROUTER_URL");
  if (router === undefined)
    env.problem(
      "SLUICE_ROUTER_URL: with SLUICE_EVENTING_INGRESS_URL set, the router's URL is needed (K_SINK_ROUTER of a SinkBinding to a Service)",
    );
  return {
    brokerIngressUrl: baseUrl(env, "SLUICE_EVENTING_INGRESS_URL", ingress),
    routerUrl: router === undefined ? "" : baseUrl(env, "SLUICE_ROUTER_URL", router),
  };
}

function kubernetesConfig(env: EnvReader): KubernetesConfig {
  const group = env.string("SLUICE_SERVING_GROUP", SLUICE_GROUP);
  if (group !== SLUICE_GROUP && group !== KNATIVE_GROUP)
    env.problem(
      `SLUICE_SERVING_GROUP=${JSON.stringify(group)}: expected ${SLUICE_GROUP} or ${KNATIVE_GROUP}`,
    );
  const hop = parseHopSecret(env.optionalString("SLUICE_HOP_SECRET"));
  if (hop.problem) env.problem(hop.problem);
  const leaseNamespace = env.optionalString("SLUICE_LEASE_NAMESPACE") ?? env.optionalString("POD_NAMESPACE");
  if (leaseNamespace === undefined)
    env.problem(
      "SLUICE_LEASE_NAMESPACE (or POD_NAMESPACE): the namespace of the leader election Lease is not set",
    );
  const image = env.optionalString("SLUICE_QUEUE_PROXY_IMAGE");
  if (image === undefined)
    env.problem(
      "SLUICE_QUEUE_PROXY_IMAGE: the sluice image revision pods run the queue-proxy from is not set",
    );
  const sinkBindings = sinkBindingsConfig(env);
  return {
    ...(sinkBindings ? { sinkBindings } : {}),
    group: group as ServingGroup,
    lease: { name: env.string("SLUICE_LEASE_NAME", "sluice-autoscaler"), namespace: leaseNamespace ?? "" },
    identity: env.optionalString("POD_NAME") ?? hostname(),
    leaseDurationMs: env.number("SLUICE_LEASE_DURATION_SECONDS", 15, { min: 2, max: 600 }) * 1000,
    queueProxyImage: image ?? "",
    hopSecret: hop.secret,
    kubeconfig: env.optionalString("SLUICE_KUBECONFIG"),
  };
}

function platformKind(env: EnvReader): AutoscalerConfig["platform"] {
  const value = env.string("SLUICE_PLATFORM", "local");
  if (value === "local" || value === "kubernetes") return value;
  env.problem(`SLUICE_PLATFORM=${JSON.stringify(value)}: expected local or kubernetes`);
  return "local";
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

function eventingAdminUrl(env: EnvReader): string | undefined {
  const raw = env.optionalString("SLUICE_EVENTING_ADMIN_URL");
  if (raw === undefined) return undefined;
  const url = raw.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#]+$/.test(url))
    env.problem(`SLUICE_EVENTING_ADMIN_URL=${JSON.stringify(raw)}: expected http://host:port (no path)`);
  return url;
}

/** `machine` is this one's unless a test passes another. */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  machine: Machine = thisMachine(),
): AutoscalerConfig {
  const env = new EnvReader("autoscaler", source);
  const config: AutoscalerConfig = {
    logLevel: readLogLevel(env),
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
    platform: platformKind(env),
    localCapacity: localCapacity(env, machine),
  };
  const eventing = eventingAdminUrl(env);
  if (eventing !== undefined) config.eventingAdminUrl = eventing;
  if (config.platform === "kubernetes") config.kubernetes = kubernetesConfig(env);
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
