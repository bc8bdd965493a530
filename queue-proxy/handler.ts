import type { IncomingMessage, ServerResponse } from "node:http";
import type { HopAuth } from "../common/hop-auth.ts";
import { Exchange, type ExchangeContext } from "../common/http/proxy-exchange.ts";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";

/** Knative's probe header value for "is this queue-proxy ready to take traffic?". */
const QUEUE_PROBE = "queue";

/**
 * The serving port's request handler: answer the activator's network probes, otherwise hand the
 * request to an Exchange (stats → breaker → app). K-Network-Probe and K-Proxy-Request count only
 * with the hop secret (`auth`); from anyone else they are dropped and the request goes to the app
 * like any other, so a client can neither hide its load nor stop requests reaching the app.
 */
export function createRequestHandler(
  ctx: ExchangeContext,
  isReady: () => boolean,
  auth?: HopAuth,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers, auth);
    if (facts.networkProbe === QUEUE_PROBE) {
      if (isReady()) sendPlain(res, 200, QUEUE_PROBE);
      else sendPlain(res, 503, ctx.draining ? "queue-proxy: draining" : "queue-proxy: app not ready");
      return;
    }
    // Draining: the answer closes its connection, so nobody sends another request on it.
    if (ctx.draining && req.httpVersionMajor === 1) res.shouldKeepAlive = false;
    new Exchange(ctx, req, res, headers, requestHasBody(req, facts), facts.proxied).start();
  };
}
