import { hostname } from "node:os";
import { EnvReader } from "../common/env.ts";
import { parseHopSecret } from "../common/hop-auth.ts";

/** The activator's settings, from its environment, parsed once at start-up. */
export interface ActivatorConfig {
  port: number;
  adminPort: number;
  bindAddress: string;
  autoscalerUrl: string;
  /** Requests allowed to wait across all revisions; beyond, 503. */
  queueDepth: number;
  statsIntervalMs: number;
  name: string;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  /** After SIGTERM, the longest the activator waits for what it holds. */
  drainTimeoutMs: number;
  /**
   * The installation's hop secret: required with Sluice-Revision from the router, sent with
   * K-Proxy-Request and K-Network-Probe to queue-proxies. Unset: Sluice-Revision is believed from
   * anyone and pods are not probed (queue-proxies would not believe the probe).
   */
  hopSecret: string | undefined;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): ActivatorConfig {
  const env = new EnvReader("activator", source);
  const autoscalerUrl = env.string("AUTOSCALER_URL", "http://127.0.0.1:8090").replace(/\/$/, "");
  if (!/^https?:\/\/[^/]+$/.test(autoscalerUrl))
    env.problem(`AUTOSCALER_URL=${JSON.stringify(autoscalerUrl)}: expected http://host:port`);
  const hop = parseHopSecret(env.optionalString("SLUICE_HOP_SECRET"));
  if (hop.problem) env.problem(hop.problem);
  const config: ActivatorConfig = {
    port: env.port("ACTIVATOR_PORT", 8081, { allowZero: true }),
    adminPort: env.port("ACTIVATOR_ADMIN_PORT", 9081, { allowZero: true }),
    bindAddress: env.string("ACTIVATOR_BIND_ADDRESS", "127.0.0.1"),
    autoscalerUrl,
    queueDepth: env.int("ACTIVATOR_QUEUE_DEPTH", 10_000, { min: 0, max: 1_000_000 }),
    statsIntervalMs: env.number("ACTIVATOR_STATS_INTERVAL_SECONDS", 1, { min: 0.05, max: 60 }) * 1000,
    name: env.string("ACTIVATOR_NAME", `${hostname()}-${process.pid}`),
    maxHeaderBytes: env.int("ACTIVATOR_MAX_HEADER_BYTES", 16 * 1024, { min: 1024, max: 1024 * 1024 }),
    headersTimeoutMs: env.number("ACTIVATOR_HEADERS_TIMEOUT_SECONDS", 10, { min: 0.1, max: 600 }) * 1000,
    drainTimeoutMs: env.number("ACTIVATOR_DRAIN_TIMEOUT_SECONDS", 330, { min: 0.1, max: 7200 }) * 1000,
    hopSecret: hop.secret,
  };
  env.finish();
  return config;
}
