import { createServer } from "node:http";
import { connect } from "@nats-io/transport-node";
import { Agent } from "undici";
import { tokenFromEnv } from "../common/api-token.ts";
import { exitOnConfigError, loadConfigOrExit } from "../common/env.ts";
import { createAdminServer } from "../common/http/admin-server.ts";
import { listen } from "../common/http/listen.ts";
import { createLogger } from "../common/log.ts";
import { createRegistry } from "../common/metrics.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { createTracer } from "../common/tracing.ts";
import { createEventingApi } from "./admin-api.ts";
import { createIngressHandler } from "./broker-ingress/handler.ts";
import { loadConfig } from "./config.ts";
import { TriggerDispatcher } from "./dispatcher/dispatcher.ts";
import type { EventingController } from "./kubernetes/controller.ts";
import { readOnlyInKubernetes } from "./kubernetes/read-only-api.ts";
import { EventingMetrics } from "./metrics.ts";
import { compileSources } from "./resources/compile-sources.ts";
import { readEventingFiles } from "./resources/read-files.ts";
import { EventingRuntime } from "./runtime.ts";
import { createGitHubHandler } from "./sources/github.ts";
import { gitHubEndpoints, SourceRunners, sourcesStatus } from "./sources/runner.ts";
import type { SinkOptions } from "./sources/sink.ts";
import { SourceMetrics } from "./sources/source-metrics.ts";
import { eventingStatus } from "./status.ts";
import { BrokerStore, HEADER_ROOM_BYTES } from "./store/broker-store.ts";
import { StoreRepair } from "./store/repair.ts";
import { useTracer } from "./tracing.ts";

// Eventing's process: the Broker ingress and the Trigger dispatcher over NATS JetStream, and the
// sources (KafkaSource, PingSource, GitHubSource, NatsSource). Wiring only; see docs/eventing.md
// for the model and eventing/*/ for each part.

const config = loadConfigOrExit(() => loadConfig());
const log = createLogger("eventing", config.logLevel);
const registry = createRegistry("eventing");
const metrics = new EventingMetrics(registry);
const sourceMetrics = new SourceMetrics(registry);
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (nothing of OpenTelemetry loaded); see tracing.ts.
const tracer = await createTracer("eventing").catch(exitOnConfigError);
useTracer(tracer);

const resources = readEventingFiles(config.files, { routerUrl: config.routerUrl, domain: config.domain });
if ("problems" in resources) {
  process.stderr.write(
    `eventing: invalid resources:\n${resources.problems.map((p) => `  ${p}`).join("\n")}\n`,
  );
  process.exit(2);
}
const { set } = resources;
const resolve = { routerUrl: config.routerUrl, domain: config.domain };
// Secrets are checked before anything starts, so a missing one stops the process at once. The
// real compile waits for the ingress's address (Broker sinks); this one only names the sources.
const github = gitHubEndpoints(
  compileSources(resources.sources, { ...resolve, brokerIngressUrl: "http://unused" }),
  {
    env: process.env,
    secretsDir: config.secretsDir,
  },
);
if ("problems" in github) {
  process.stderr.write(`eventing: ${github.problems.join("\n  ")}\n`);
  process.exit(2);
}

const nc = await connect({
  servers: config.natsUrl,
  name: "sluice-eventing",
  maxReconnectAttempts: -1,
}).catch((error: Error) => {
  log.error(`cannot connect to NATS at ${config.natsUrl}: ${error.message}`);
  process.exit(1);
});
if (config.maxEventBytes + HEADER_ROOM_BYTES > nc.info!.max_payload) {
  log.error(
    `EVENTING_MAX_EVENT_BYTES=${config.maxEventBytes} does not fit the NATS server's max_payload (${nc.info!.max_payload} bytes, ${HEADER_ROOM_BYTES} of them kept for attributes)`,
  );
  process.exit(2);
}
const store = await BrokerStore.open(nc, {
  maxAgeMs: config.retentionMs,
  maxEventBytes: config.maxEventBytes,
  ackWaitMs: config.ackWaitMs,
  maxInFlight: config.maxInFlight,
});
const agent = new Agent({ keepAliveTimeout: 4000, headersTimeout: 0, bodyTimeout: 0 });
const dispatcher = new TriggerDispatcher({
  store,
  agent,
  defaultTimeoutMs: config.deliveryTimeoutMs,
  ackWaitMs: config.ackWaitMs,
  maxInFlight: config.maxInFlight,
  maxEventBytes: config.maxEventBytes,
  metrics,
  log,
});

const runtime = new EventingRuntime(store, dispatcher, log);
// Recreates a Broker's stream or a Trigger's consumer that JetStream lost (store/repair.ts).
const repair = new StoreRepair(store, () => runtime.set, log);
const sinkOptions: SinkOptions = { agent, timeoutMs: config.deliveryTimeoutMs, metrics: sourceMetrics, log };
const sources = new SourceRunners([], {
  sink: sinkOptions,
  log,
  nats: nc,
  maxInFlight: config.maxInFlight,
  resolve,
  env: process.env,
  secretsDir: config.secretsDir,
});
const compileSourceSet = (manifests: Parameters<typeof compileSources>[0]) =>
  compileSources(manifests, { ...resolve, brokerIngressUrl: ingressUrl });

let draining = false;
/** SLUICE_PLATFORM=kubernetes: the controller feeding the runtime from the API server. */
let cluster: EventingController | undefined;
const ingress = createServer(
  createIngressHandler({
    brokers: () => runtime.set.brokers,
    store: async (namespace, broker, event) => {
      repair.guard(namespace, broker);
      return store.publish(namespace, broker, event).catch(async (error: unknown) => {
        throw await repair.explain(namespace, broker, error);
      });
    },
    maxEventBytes: config.maxEventBytes,
    metrics,
    log,
  }),
);
let ingressUrl = "";
let webhook: ReturnType<typeof createServer> | undefined;
let webhookUrl: string | undefined;

/**
 * The GitHubSources' port, opened with the first GitHubSource (at start or applied later); on
 * Kubernetes always (GitHubSources come and go with the API server's objects).
 */
async function openWebhook(): Promise<number | undefined> {
  if (webhook || (sources.endpoints.size === 0 && !config.kubernetes)) return undefined;
  webhook = createServer(
    createGitHubHandler({
      endpoints: () => sources.endpoints,
      maxBodyBytes: config.maxEventBytes,
      sink: sinkOptions,
      log,
    }),
  );
  const port = await listen(webhook, config.webhookPort, config.bindAddress, "eventing webhook port");
  webhookUrl = `http://${config.bindAddress}:${port}`;
  return port;
}
const admin = createAdminServer({
  registry,
  isReady: () => !draining && !nc.isClosed() && repair.ready && (cluster?.synced ?? true),
  log,
  name: "eventing admin port",
  routes: {
    // GET the status; PUT resources (sluice apply): admin-api.ts.
    // On Kubernetes the resources are the API server's: GET only.
    "/v1/eventing": readOnlyInKubernetes(
      config.platform,
      createEventingApi({
        files: config.files,
        resolve,
        apply: async (next, sourceManifests) => {
          await runtime.apply(next);
          const change = await sources.apply(compileSourceSet(sourceManifests));
          log.info(change, "sources applied");
          await openWebhook();
        },
        checkSources: (sourceManifests) => sources.check(compileSourceSet(sourceManifests)),
        status: () => ({
          ...eventingStatus(runtime.set, metrics, ingressUrl),
          sources: sourcesStatus(sources.sources, sourceMetrics, webhookUrl, (s) => sources.health(s)),
        }),
        appliedFile: config.appliedFile,
        token: tokenFromEnv(),
        log,
      }),
    ),
  },
});

async function shutDown(reason: string, exitCode = 0): Promise<void> {
  if (draining) return;
  draining = true;
  log.info({ reason }, "stopping");
  // Sources first: they stop taking events, and KafkaSources commit what was delivered.
  await cluster?.stop(); // no sync may start sources again
  await sources.stop();
  repair.stop();
  webhook?.close();
  ingress.close();
  ingress.closeIdleConnections();
  await dispatcher.stop();
  await nc.drain().catch(() => {}); // flushes the acks of the last deliveries
  await agent.close();
  await tracer.shutdown().catch((error: Error) => log.warn(error.message));
  admin.close();
  log.info("stopped");
  process.exit(exitCode);
}
onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  // Streams and consumers exist before the ingress listens (see runtime.ts).
  await runtime.apply(set);
  repair.start();
  const port = await listen(ingress, config.port, config.bindAddress, "eventing broker ingress");
  ingressUrl = `http://${config.bindAddress}:${port}`;
  // Sources before the admin port: an apply (PUT /v1/eventing) merges into the set they start.
  await sources.apply(compileSourceSet(resources.sources));
  const webhookPort = await openWebhook();
  const adminPort = await listen(admin, config.adminPort, config.bindAddress, "eventing admin port");
  // SLUICE_PLATFORM=kubernetes: Brokers, Triggers and sources from the API server, status back to it;
  // not ready until the first sync (the client is loaded only in this mode).
  if (config.kubernetes)
    cluster = await (await import("./kubernetes/start.ts")).startClusterEventing(config.kubernetes, {
      runtime,
      sources,
      compileSources: compileSourceSet,
      resolve,
      log,
    });
  for (const broker of runtime.set.brokers.values())
    log.info(
      {
        broker: `${broker.namespace}/${broker.name}`,
        url: `${ingressUrl}/${broker.namespace}/${broker.name}`,
      },
      "broker ready",
    );
  log.info(
    {
      port,
      adminPort,
      webhookPort,
      nats: config.natsUrl,
      brokers: set.brokers.size,
      triggers: set.triggers.length,
      sources: sources.sources.length,
    },
    "eventing listening",
  );
  process.send?.({ type: "listening", port, adminPort, webhookPort });
} catch (error) {
  log.error((error as Error).message);
  process.exit(1);
}
