import type { IncomingMessage, ServerResponse } from "node:http";
import { sendPlain } from "../../common/http/respond.ts";
import type { Logger } from "../../common/log.ts";
import { describeEvent, type StoredEvent } from "../cloudevent/event.ts";
import { parseHttpEvent } from "../cloudevent/parse-http.ts";
import { ttlProblem } from "../dispatcher/reply-ttl.ts";
import type { EventingMetrics } from "../metrics.ts";
import { type BrokerRuntime, brokerKey } from "../resources/compile.ts";
import { storeRefusal } from "../store/refusal.ts";
import { traceIngress } from "../tracing.ts";
import { readBody } from "./read-body.ts";

// The Broker ingress: POST /{namespace}/{broker} with one CloudEvent (binary or structured).
// 202 means JetStream has stored the event; anything else means it has not, and says why. When
// the store cannot take it (NATS away, JetStream full, no acknowledgement in time) the answer is
// 503 with Retry-After in seconds (store/refusal.ts): back-pressure the producer can act on.

export interface IngressOptions {
  /** The Brokers served right now (swapped whole when resources change). */
  brokers: () => ReadonlyMap<string, BrokerRuntime>;
  store: (namespace: string, broker: string, event: StoredEvent) => Promise<{ duplicate: boolean }>;
  maxEventBytes: number;
  metrics: EventingMetrics;
  log: Logger;
}

const PATH = /^\/([a-z0-9-]+)\/([a-z0-9-]+)\/?$/;

export function createIngressHandler(options: IngressOptions) {
  const { brokers, store, maxEventBytes, metrics, log } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const match = PATH.exec(path);
    if (!match) return sendPlain(res, 404, `no Broker at ${path}: Brokers are at /{namespace}/{broker}`);
    const [, namespace, name] = match;
    if (!brokers().has(brokerKey(namespace, name)))
      return sendPlain(res, 404, `no Broker "${name}" in namespace "${namespace}"`);
    const answer = (code: number, message: string, headers?: Record<string, string>) => {
      metrics.ingress(namespace, name, code);
      sendPlain(res, code, message, headers);
    };
    if (req.method !== "POST") return answer(405, "a Broker takes POST with a CloudEvent", { allow: "POST" });
    // 413 rather than the 400 of a malformed event: the event may be fine, only too big here, and
    // clients and proxies know what 413 means. The body is not read: the connection closes.
    const tooLarge = () =>
      answer(413, `event too large: data may be at most ${maxEventBytes} bytes (EVENTING_MAX_EVENT_BYTES)`, {
        connection: "close",
      });
    if (Number(req.headers["content-length"] ?? 0) > maxEventBytes) return tooLarge();
    const body = await readBody(req, maxEventBytes);
    if (body === "too-large") return tooLarge();
    const parsed = parseHttpEvent(req.headers, body);
    // The trace context goes into the stored event (tracing.ts); one span when sampled.
    const trace = traceIngress(
      req.headers,
      "event" in parsed ? parsed.event : undefined,
      `${namespace}/${name}`,
    );
    if ("problem" in parsed) {
      trace.end(400);
      return answer(400, parsed.problem);
    }
    const ttl = ttlProblem(parsed.event);
    if (ttl !== undefined) {
      trace.end(400);
      return answer(400, ttl);
    }
    try {
      const { duplicate } = await store(namespace, name, trace.event ?? parsed.event);
      if (duplicate)
        log.debug({ namespace, broker: name, ...describeEvent(parsed.event) }, "duplicate event ignored");
      metrics.ingress(namespace, name, 202);
      res.writeHead(202, { "content-length": "0" }).end();
      trace.end(202);
    } catch (error) {
      const refusal = storeRefusal(error);
      log.warn(
        { namespace, broker: name, reason: refusal.reason, err: (error as Error).message },
        "event not stored",
      );
      answer(
        503,
        `the event was not stored: ${refusal.message}; retry after ${refusal.retryAfterSeconds} s`,
        { "retry-after": String(refusal.retryAfterSeconds) },
      );
      trace.end(503, refusal.message);
    }
  };
}
