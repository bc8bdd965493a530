import { hostname } from "node:os";
import { EnvReader } from "../common/env.ts";
import { parseHopSecret } from "../common/hop-auth.ts";
import { type ListenerLimits, readListenerLimits } from "../common/http/listener-limits.ts";
import { type DataPathName, readDataPath } from "../common/http/raw/data-path.ts";
import { type LogLevel, readLogLevel } from "../common/log.ts";

/** The activator's settings, from its environment, parsed once at start-up. */
export interface ActivatorConfig {
  /** LOG_LEVEL. */
  logLevel: LogLevel;
  port: number;
  adminPort: number;
  bindAddress: string;
  autoscalerUrl: string;
  /** Requests allowed to wait across all revisions; beyond, 503. */
  queueDepth: number;
  statsIntervalMs: number;
  name: string;
  /** Header timeout, keep-alive, connection cap, header size and HTTP/2 limits (ACTIVATOR_*). */
  limits: ListenerLimits;
  /** After SIGTERM, the longest the activator waits for what it holds. */
  drainTimeoutMs: number;
  /**
   * The installation's hop secret: required with Sluice-Revision from the router, sent with
   * K-Proxy-Request and K-Network-Probe to queue-proxies. Unset: Sluice-Revision is believed from
   * anyone, and a pod that refused a connection sits out a pause instead of a probe (queue-proxies
   * would not believe one).
   */
  hopSecret: string | undefined;
  /** SLUICE_DATA_PATH: HTTP/1.1 on raw sockets framed by llhttp (default), or node:http + undici. */
  dataPath: DataPathName;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): ActivatorConfig {
  const env = new EnvReader("activator", source);
  const autoscalerUrl = env.string("AUTOSCALER_URL", "http://127.0.0.1:8090").replace(/\/$/, "");
  if (!/^https?:\/\/[^/]+$/.test(autoscalerUrl))
    env.problem(`AUTOSCALER_URL=${JSON.stringify(autoscalerUrl)}: expected http://host:port`);
  const hop = parseHopSecret(env.optionalString("SLUICE_HOP_SECRET"));
  if (hop.problem) env.problem(hop.problem);
  const config: ActivatorConfig = {
    logLevel: readLogLevel(env),
    port: env.port("ACTIVATOR_PORT", 8081, { allowZero: true }),
    adminPort: env.port("ACTIVATOR_ADMIN_PORT", 9081, { allowZero: true }),
    bindAddress: env.string("ACTIVATOR_BIND_ADDRESS", "127.0.0.1"),
    autoscalerUrl,
    queueDepth: env.int("ACTIVATOR_QUEUE_DEPTH", 10_000, { min: 0, max: 1_000_000 }),
    statsIntervalMs: env.number("ACTIVATOR_STATS_INTERVAL_SECONDS", 1, { min: 0.05, max: 60 }) * 1000,
    name: env.string("ACTIVATOR_NAME", `${hostname()}-${process.pid}`),
    limits: readListenerLimits(env, "ACTIVATOR"),
    drainTimeoutMs: env.number("ACTIVATOR_DRAIN_TIMEOUT_SECONDS", 330, { min: 0.1, max: 7200 }) * 1000,
    hopSecret: hop.secret,
    dataPath: readDataPath(env),
  };
  env.finish();
  return config;
}
