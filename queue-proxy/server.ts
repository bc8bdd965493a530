import type { IncomingMessage } from "node:http";
import type { Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import type { Registry } from "prom-client";
import { ConcurrencyStats } from "../common/concurrency-stats.ts";
import { HopAuth } from "../common/hop-auth.ts";
import { createDataListener } from "../common/http/data-listener.ts";
import { DeadlineList } from "../common/http/deadline-list.ts";
import type { ExchangeContext } from "../common/http/proxy-exchange.ts";
import type { DataPath } from "../common/http/raw/data-path.ts";
import { createRawUpstream } from "../common/http/raw/upstream-pool.ts";
import { scanRequestHeaders } from "../common/http/request-headers.ts";
import { createH2cClient, createPool, type Dispatcher } from "../common/http/undici-dispatchers.ts";
import type { Logger } from "../common/log.ts";
import type { Tracer } from "../common/tracing.ts";
import { Breaker } from "./breaker.ts";
import type { QueueProxyConfig } from "./config.ts";
import { createRequestHandler } from "./handler.ts";
import { QueueProxyMetrics } from "./metrics.ts";
import { DrainableTunnel } from "./upgrade.ts";

/** How often the deadline sweep looks for requests past the revision timeout. */
const DEADLINE_SWEEP_MS = 100;

/** The serving side of a queue-proxy: HTTP/1.1 + h2c listener, breaker, stats, upstream pool. */
export interface ServingSide {
  ctx: ExchangeContext;
  breaker: Breaker;
  listener: NetServer;
  /** Open WebSocket tunnels, told to go away on drain. */
  upgrades: Set<DrainableTunnel>;
  close(): Promise<void>;
}

function createUpstream(config: QueueProxyConfig, dataPath: DataPath): Dispatcher {
  const origin = `http://${config.userHost}:${config.userPort}`;
  // Total timeout is ours (the deadline sweep); the pool's own timers cover response start and idle.
  const timeouts = { headersTimeout: config.responseStartTimeoutMs, bodyTimeout: config.idleTimeoutMs };
  if (config.userProtocol === "h2c") return createH2cClient(origin, timeouts);
  if (dataPath.name === "raw")
    return createRawUpstream(dataPath.parser, {
      origin,
      keepAliveTimeoutMs: 4000,
      headersTimeoutMs: config.responseStartTimeoutMs,
      bodyTimeoutMs: config.idleTimeoutMs,
    });
  return createPool(origin, { ...timeouts, pipelining: 1, keepAliveTimeout: 4000 });
}

export function createServingSide(
  config: QueueProxyConfig,
  dataPath: DataPath,
  registry: Registry,
  log: Logger,
  isReady: () => boolean,
  tracer?: Tracer,
): ServingSide {
  const breaker = new Breaker(config.containerConcurrency, config.queueDepth);
  const labels = { service: config.service, namespace: config.namespace, revision: config.revision };
  const ctx: ExchangeContext = {
    component: "queue-proxy",
    upstream: createUpstream(config, dataPath),
    upstreamH2: config.userProtocol === "h2c",
    gate: breaker,
    stats: new ConcurrencyStats(Date.now()),
    deadlines: new DeadlineList(),
    metrics: new QueueProxyMetrics(
      registry,
      labels,
      () => ({
        inFlight: breaker.inFlight,
        queued: breaker.queued,
      }),
      config.containerConcurrency,
    ),
    log,
    accessLog: config.accessLog,
    timeoutMs: config.timeoutMs,
    draining: false,
    tracer,
    revision: config.revision,
  };
  const hopAuth = new HopAuth(config.hopSecret);
  const handler = createRequestHandler(ctx, isReady, hopAuth);
  const upgrades = new Set<DrainableTunnel>();
  const origin = `http://${config.userHost}:${config.userPort}`;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers, hopAuth);
    const options = {
      ctx,
      origin,
      requestHeaders: () => headers,
      maxResponseHeadBytes: config.limits.maxHeaderBytes,
      proxied: facts.proxied,
      open: upgrades,
    };
    new DrainableTunnel(options, req, socket, head).start();
  };
  const data = createDataListener({
    component: "queue-proxy",
    limits: config.limits,
    log,
    onRequest: handler,
    onUpgrade,
    raw: dataPath.name === "raw" ? dataPath.parser : undefined,
  });
  const { listener } = data;

  const sweep = setInterval(
    () => ctx.deadlines.expireStartedBefore(Date.now() - config.timeoutMs),
    DEADLINE_SWEEP_MS,
  );
  sweep.unref();

  return {
    ctx,
    breaker,
    listener,
    upgrades,
    async close() {
      clearInterval(sweep);
      data.close();
      data.closeAllConnections();
      data.closeH2c();
      for (const connection of upgrades) connection.close();
      await ctx.upstream.close();
    },
  };
}
