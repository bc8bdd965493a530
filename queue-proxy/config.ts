import { EnvReader } from "../common/env.ts";
import { parseHopSecret } from "../common/hop-auth.ts";
import { unixSocketPathProblem } from "../common/http/listen.ts";
import { type ListenerLimits, readListenerLimits } from "../common/http/listener-limits.ts";
import { type DataPathName, readDataPath } from "../common/http/raw/data-path.ts";
import { type LogLevel, readLogLevel } from "../common/log.ts";

/** Everything the queue-proxy reads from its environment, parsed once at start-up. */
export interface QueueProxyConfig {
  /** LOG_LEVEL. */
  logLevel: LogLevel;
  /** Where clients (router, activator) connect; 0 picks a free port. */
  servingPort: number;
  /**
   * A Unix socket served as well (QUEUE_SERVING_SOCKET, local pods): a router or activator on the
   * same machine connects there, for less kernel work per request than loopback TCP.
   */
  servingSocket: string | undefined;
  /** /healthz, /readyz, /stats, /metrics. */
  adminPort: number;
  /** Prometheus /metrics alone (Knative's 9091); -1 turns the extra listener off. */
  metricsPort: number;
  bindAddress: string;
  userHost: string;
  userPort: number;
  /** How to talk to the app: HTTP/1.1, or h2c for gRPC apps (Knative: a port named h2c). */
  userProtocol: "http1" | "h2c";
  /** Maximum requests in flight to the app; 0 = unlimited. */
  containerConcurrency: number;
  /** Waiting requests allowed beyond containerConcurrency (Knative: 10 × containerConcurrency). */
  queueDepth: number;
  /** Total time for a request, response included (ms). */
  timeoutMs: number;
  /** Time to the first response byte (ms); 0 = only the total timeout applies. */
  responseStartTimeoutMs: number;
  /** Longest silence between response chunks (ms); 0 = none. */
  idleTimeoutMs: number;
  readinessProbe: ReadinessProbe;
  /** After SIGTERM: how long without new requests before the listener closes (ms). */
  drainQuietMs: number;
  /** After SIGTERM: the hard limit before exit (ms). */
  drainTimeoutMs: number;
  /** Header timeout, keep-alive, connection cap, header size and HTTP/2 limits (QUEUE_*). */
  limits: ListenerLimits;
  service: string;
  configuration: string;
  revision: string;
  namespace: string;
  pod: string;
  accessLog: boolean;
  /**
   * The installation's hop secret (SLUICE_HOP_SECRET): K-Proxy-Request and K-Network-Probe are
   * believed only from a request that carries it; unset, they are never believed.
   */
  hopSecret: string | undefined;
  /** SLUICE_DATA_PATH: HTTP/1.1 on raw sockets framed by llhttp (default), or node:http + undici. */
  dataPath: DataPathName;
}

export type ReadinessProbe =
  | { kind: "tcp"; host: string; port: number; periodMs: number; timeoutMs: number }
  | { kind: "http"; host: string; port: number; path: string; periodMs: number; timeoutMs: number };

const KNOWN_PROBE_FIELDS = new Set([
  "tcpSocket",
  "httpGet",
  "periodSeconds",
  "timeoutSeconds",
  "successThreshold",
  "failureThreshold",
  "initialDelaySeconds",
]);

function defaultProbe(host: string, port: number): ReadinessProbe {
  return { kind: "tcp", host, port, periodMs: 1000, timeoutMs: 1000 };
}

/**
 * SERVING_READINESS_PROBE is Knative's JSON form of the container's readinessProbe, e.g.
 * {"tcpSocket":{"port":8080}} or {"httpGet":{"path":"/ready","port":8080}}.
 */
export function parseReadinessProbe(
  json: string | undefined,
  userHost: string,
  userPort: number,
): ReadinessProbe | string {
  const fallback = defaultProbe(userHost, userPort);
  if (json === undefined) return fallback;
  let probe: Record<string, unknown>;
  try {
    probe = JSON.parse(json);
  } catch (error) {
    return `SERVING_READINESS_PROBE: not valid JSON (${(error as Error).message})`;
  }
  if (typeof probe !== "object" || probe === null || Array.isArray(probe)) {
    return "SERVING_READINESS_PROBE: expected a JSON object";
  }
  for (const key of Object.keys(probe)) {
    if (!KNOWN_PROBE_FIELDS.has(key)) return `SERVING_READINESS_PROBE: unknown field ${key}`;
  }
  const periodMs = Math.max(50, Number(probe.periodSeconds ?? 1) * 1000);
  const timeoutMs = Math.max(50, Number(probe.timeoutSeconds ?? 1) * 1000);
  if (!Number.isFinite(periodMs) || !Number.isFinite(timeoutMs)) {
    return "SERVING_READINESS_PROBE: periodSeconds and timeoutSeconds must be numbers";
  }
  const http = probe.httpGet as { path?: unknown; port?: unknown; host?: unknown } | undefined;
  if (http !== undefined) {
    const path = http.path ?? "/";
    if (typeof path !== "string" || !path.startsWith("/")) {
      return "SERVING_READINESS_PROBE: httpGet.path must start with /";
    }
    // It goes into the request line as it is: a space or a line break would end it early.
    const bad = /[^\x21-\x7e]/.exec(path);
    if (bad !== null) {
      const found = JSON.stringify(bad[0]);
      return `SERVING_READINESS_PROBE: httpGet.path holds ${found} at index ${bad.index}: only visible ASCII, percent-encode the rest`;
    }
    const port = http.port === undefined || http.port === 0 ? userPort : Number(http.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return "SERVING_READINESS_PROBE: httpGet.port is not a port";
    return { kind: "http", host: userHost, port, path, periodMs, timeoutMs };
  }
  const tcp = probe.tcpSocket as { port?: unknown } | undefined;
  const port = tcp?.port === undefined || tcp.port === 0 ? userPort : Number(tcp.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return "SERVING_READINESS_PROBE: tcpSocket.port is not a port";
  return { ...fallback, port, periodMs, timeoutMs };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): QueueProxyConfig {
  const env = new EnvReader("queue-proxy", source);
  const userHost = env.string("USER_HOST", "127.0.0.1");
  const userPort = env.port("USER_PORT", 8080);
  const containerConcurrency = env.int("CONTAINER_CONCURRENCY", 0, { min: 0, max: 1000 });
  const timeoutSeconds = env.number("REVISION_TIMEOUT_SECONDS", 300, { min: 1, max: 3600 });
  const probe = parseReadinessProbe(env.optionalString("SERVING_READINESS_PROBE"), userHost, userPort);
  if (typeof probe === "string") env.problem(probe);
  const servingSocket = env.optionalString("QUEUE_SERVING_SOCKET");
  const socketProblem = servingSocket === undefined ? undefined : unixSocketPathProblem(servingSocket);
  if (socketProblem) env.problem(`QUEUE_SERVING_SOCKET=${servingSocket}: ${socketProblem}`);
  const hop = parseHopSecret(env.optionalString("SLUICE_HOP_SECRET"));
  if (hop.problem) env.problem(hop.problem);
  const config: QueueProxyConfig = {
    logLevel: readLogLevel(env),
    servingPort: env.port("QUEUE_SERVING_PORT", 8012, { allowZero: true }),
    servingSocket,
    adminPort: env.port("QUEUE_ADMIN_PORT", 8022, { allowZero: true }),
    metricsPort: env.int("QUEUE_METRICS_PORT", 9091, { min: -1, max: 65535 }),
    bindAddress: env.string("QUEUE_BIND_ADDRESS", "127.0.0.1"),
    userHost,
    userPort,
    userProtocol: env.oneOf("USER_PROTOCOL", ["http1", "h2c"] as const, "http1"),
    containerConcurrency,
    queueDepth: env.int("QUEUE_DEPTH", 10 * containerConcurrency, { min: 0, max: 1_000_000 }),
    timeoutMs: timeoutSeconds * 1000,
    responseStartTimeoutMs: env.number("REVISION_RESPONSE_START_TIMEOUT_SECONDS", 0, { max: 3600 }) * 1000,
    idleTimeoutMs: env.number("REVISION_IDLE_TIMEOUT_SECONDS", 0, { max: 3600 }) * 1000,
    readinessProbe: typeof probe === "string" ? defaultProbe(userHost, userPort) : probe,
    drainQuietMs: env.number("QUEUE_DRAIN_QUIET_SECONDS", 1, { max: 600 }) * 1000,
    drainTimeoutMs:
      env.number("QUEUE_DRAIN_TIMEOUT_SECONDS", timeoutSeconds + 30, { min: 0.1, max: 7200 }) * 1000,
    limits: readListenerLimits(env, "QUEUE"),
    service: env.string("SERVING_SERVICE", ""),
    configuration: env.string("SERVING_CONFIGURATION", ""),
    revision: env.string("SERVING_REVISION", "unknown"),
    namespace: env.string("SERVING_NAMESPACE", "default"),
    pod: env.string("SERVING_POD", `pod-${process.pid}`),
    accessLog: env.bool("QUEUE_ACCESS_LOG", false),
    hopSecret: hop.secret,
    dataPath: readDataPath(env),
  };
  env.finish();
  return config;
}
