import type { IncomingMessage, ServerResponse } from "node:http";
import { Exchange, type ExchangeContext } from "../common/http/proxy-exchange.ts";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";

/** Knative's probe header value for "is this queue-proxy ready to take traffic?". */
const QUEUE_PROBE = "queue";

/**
 * The serving port's request handler: answer network probes, otherwise hand the request to an
 * Exchange (stats → breaker → app).
 */
export function createRequestHandler(
  ctx: ExchangeContext,
  isReady: () => boolean,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers);
    if (facts.networkProbe === QUEUE_PROBE) {
      if (isReady()) sendPlain(res, 200, QUEUE_PROBE);
      else sendPlain(res, 503, ctx.draining ? "queue-proxy: draining" : "queue-proxy: app not ready");
      return;
    }
    new Exchange(ctx, req, res, headers, requestHasBody(req, facts), facts.proxied).start();
  };
}
