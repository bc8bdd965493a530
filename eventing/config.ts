import { hostname } from "node:os";
import { EnvReader } from "../common/env.ts";
import { type LogLevel, readLogLevel } from "../common/log.ts";

/** The eventing process's settings (Broker ingress and Trigger dispatcher), parsed once at start-up. */
export interface EventingConfig {
  /** LOG_LEVEL. */
  logLevel: LogLevel;
  /** The Broker ingress: POST /{namespace}/{broker}. */
  port: number;
  /** /healthz, /readyz, /metrics, /v1/eventing. */
  adminPort: number;
  /** GitHubSources' webhook endpoints (POST /{namespace}/{name}); opened only when there are some. */
  webhookPort: number;
  /** Secrets read from files: {dir}/{secret name}/{key} (see sources/secrets.ts). */
  secretsDir: string | undefined;
  bindAddress: string;
  /** The NATS server with JetStream that stores Broker events. */
  natsUrl: string;
  /**
   * Files and directories (*.yaml, *.yml, *.json) holding Broker, Trigger and source manifests. Until
   * `sluice apply` knows these kinds, this is where they come from.
   */
  files: string[];
  /** Where Triggers whose subscriber is a ref to a sluice Service send: the router. */
  routerUrl: string;
  /** Services' host domain: {service}.{namespace}.{domain}, as the autoscaler's SLUICE_DOMAIN. */
  domain: string;
  /** The largest event data the ingress accepts (bytes); must fit the NATS server's max_payload. */
  maxEventBytes: number;
  /** Per attempt, for Triggers whose delivery spec has no timeout. */
  deliveryTimeoutMs: number;
  /** Deliveries in flight per Trigger (and per NatsSource; records held per KafkaSource). */
  maxInFlight: number;
  /** JetStream's ack wait; deliveries in progress heartbeat within it. */
  ackWaitMs: number;
  /** The longest an event waits in a Broker's stream for its Triggers. */
  retentionMs: number;
  /**
   * PUT /v1/eventing (sluice apply) writes the whole applied set here, as YAML; list it in
   * EVENTING_FILES too (alone), so a restarted process serves what was applied (sluice up does).
   */
  appliedFile: string | undefined;
  /**
   * SLUICE_PLATFORM, as the autoscaler's: `local` (default) serves the resources of EVENTING_FILES and
   * PUT /v1/eventing; `kubernetes` serves the Brokers, Triggers and sources the API server holds and
   * writes their status back (eventing/kubernetes/).
   */
  platform: "local" | "kubernetes";
  /** Kubernetes mode's settings (SLUICE_PLATFORM=kubernetes only). */
  kubernetes?: EventingKubernetesConfig;
}

export interface EventingKubernetesConfig {
  /**
   * EVENTING_INGRESS_URL: the ingress as the cluster reaches it (the chart: http://<release>-eventing.
   * <namespace>.svc.<cluster domain>); a Broker's status.address.url is {this}/{namespace}/{broker}.
   */
  ingressUrl: string;
  /** SLUICE_KUBECONFIG: a kubeconfig file instead of the pod's service account (running outside). */
  kubeconfig: string | undefined;
  /**
   * SLUICE_LEASE_NAME / SLUICE_LEASE_NAMESPACE (default POD_NAMESPACE): the Lease the replicas elect
   * the one that runs the sources (PingSource, KafkaSource, NatsSource) and writes status on;
   * undefined: no election, this process is the only one and does both.
   */
  lease: { name: string; namespace: string } | undefined;
  /** POD_NAME (default the host name): this replica in the Lease. */
  identity: string;
  /** SLUICE_LEASE_DURATION_SECONDS: how long a leader that stopped renewing keeps the others off. */
  leaseDurationMs: number;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): EventingConfig {
  const env = new EnvReader("eventing", source);
  const natsUrl = env.string("NATS_URL", "nats://127.0.0.1:4222");
  if (!/^(nats|tls):\/\/[^/]+$/.test(natsUrl))
    env.problem(`NATS_URL=${JSON.stringify(natsUrl)}: expected nats://host:port`);
  const routerUrl = env.string("SLUICE_ROUTER_URL", "http://127.0.0.1:8080").replace(/\/$/, "");
  if (!/^https?:\/\/[^/]+$/.test(routerUrl))
    env.problem(`SLUICE_ROUTER_URL=${JSON.stringify(routerUrl)}: expected http://host:port`);
  const config: EventingConfig = {
    logLevel: readLogLevel(env),
    port: env.port("EVENTING_PORT", 8070, { allowZero: true }),
    adminPort: env.port("EVENTING_ADMIN_PORT", 9070, { allowZero: true }),
    webhookPort: env.port("EVENTING_WEBHOOK_PORT", 8071, { allowZero: true }),
    secretsDir: env.optionalString("EVENTING_SECRETS_DIR"),
    bindAddress: env.string("EVENTING_BIND_ADDRESS", "127.0.0.1"),
    natsUrl,
    files: (env.optionalString("EVENTING_FILES") ?? "")
      .split(",")
      .map((file) => file.trim())
      .filter((file) => file !== ""),
    routerUrl,
    domain: env.string("SLUICE_DOMAIN", "example.com"),
    maxEventBytes: env.int("EVENTING_MAX_EVENT_BYTES", 256 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    deliveryTimeoutMs: env.number("EVENTING_DELIVERY_TIMEOUT_SECONDS", 300, { min: 0.01, max: 3600 }) * 1000,
    maxInFlight: env.int("EVENTING_MAX_IN_FLIGHT", 100, { min: 1, max: 10_000 }),
    ackWaitMs: env.number("EVENTING_ACK_WAIT_SECONDS", 30, { min: 1, max: 3600 }) * 1000,
    retentionMs: env.number("EVENTING_RETENTION_SECONDS", 7 * 86_400, { min: 60, max: 365 * 86_400 }) * 1000,
    appliedFile: env.optionalString("EVENTING_APPLIED_FILE"),
    platform: platformKind(env),
  };
  if (config.platform === "kubernetes") config.kubernetes = kubernetesConfig(env, config);
  env.finish();
  return config;
}

function platformKind(env: EnvReader): EventingConfig["platform"] {
  const value = env.string("SLUICE_PLATFORM", "local");
  if (value === "local" || value === "kubernetes") return value;
  env.problem(`SLUICE_PLATFORM=${JSON.stringify(value)}: expected local or kubernetes`);
  return "local";
}

function kubernetesConfig(env: EnvReader, config: EventingConfig): EventingKubernetesConfig {
  // Resources come from the API server only: a second source would be served beside it, unseen there.
  if (config.files.length > 0)
    env.problem(
      "EVENTING_FILES: not used with SLUICE_PLATFORM=kubernetes (resources come from the API server)",
    );
  if (config.appliedFile !== undefined)
    env.problem(
      "EVENTING_APPLIED_FILE: not used with SLUICE_PLATFORM=kubernetes (resources come from the API server)",
    );
  const ingressUrl = (env.optionalString("EVENTING_INGRESS_URL") ?? "").replace(/\/$/, "");
  if (ingressUrl === "")
    env.problem(
      "EVENTING_INGRESS_URL: with SLUICE_PLATFORM=kubernetes, the ingress's in-cluster URL (each Broker's status.address.url) is not set",
    );
  else if (!/^https?:\/\/[^/]+$/.test(ingressUrl))
    env.problem(`EVENTING_INGRESS_URL=${JSON.stringify(ingressUrl)}: expected http://host[:port]`);
  const leaseName = env.optionalString("SLUICE_LEASE_NAME");
  const leaseNamespace = env.optionalString("SLUICE_LEASE_NAMESPACE") ?? env.optionalString("POD_NAMESPACE");
  if (leaseName !== undefined && leaseNamespace === undefined)
    env.problem(
      "SLUICE_LEASE_NAMESPACE (or POD_NAMESPACE): SLUICE_LEASE_NAME is set but not the namespace of its Lease",
    );
  return {
    ingressUrl,
    kubeconfig: env.optionalString("SLUICE_KUBECONFIG"),
    lease: leaseName === undefined ? undefined : { name: leaseName, namespace: leaseNamespace ?? "" },
    identity: env.optionalString("POD_NAME") ?? hostname(),
    leaseDurationMs: env.number("SLUICE_LEASE_DURATION_SECONDS", 15, { min: 2, max: 600 }) * 1000,
  };
}
