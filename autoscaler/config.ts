import { EnvReader } from "../common/env.ts";

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
  };
  env.finish();
  return config;
}
