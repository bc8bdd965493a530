// The floor for the router on the raw path: sluice's raw HTTP/1.1 pieces (the sniffing listener,
// llhttp reading both sockets in C++, the upstream pool) forwarding to one origin, and nothing
// else: no routing, gate, stats, metrics, spans, timeouts or X-Forwarded headers. What the router
// costs above this is its features; what this costs above llhttp-forwarder.ts (the same technique
// with none of sluice's code) is sluice's raw-path code. Unlike bare-forwarder.ts it moves with
// sluice's raw-path code: that is what it measures.
//
// PORT (0 = any; reported over IPC when there is a channel), UPSTREAM_PORT (on 127.0.0.1).
import { createDataListener } from "../../common/http/data-listener.ts";
import { endToEndResponseHeaders } from "../../common/http/hop-by-hop.ts";
import { DEFAULT_LIMITS } from "../../common/http/listener-limits.ts";
import { chooseDataPath } from "../../common/http/raw/data-path.ts";
import type { RawRequest } from "../../common/http/raw/raw-request.ts";
import type { RawResponse } from "../../common/http/raw/raw-response.ts";
import { UpstreamPool } from "../../common/http/raw/upstream-pool.ts";
import type { UpstreamHandler, UpstreamRequest } from "../../common/http/raw/upstream-request.ts";
import { scanRequestHeaders } from "../../common/http/request-headers.ts";
import { createLogger } from "../../common/log.ts";
import { upstreamPort } from "./upstream-port.ts";

const dataPath = chooseDataPath("raw");
if (dataPath.name !== "raw") throw new Error(`raw-forwarder: no raw path here: ${dataPath.fallback}`);
const origin = `http://127.0.0.1:${upstreamPort("raw-forwarder")}`;
const upstream = new UpstreamPool(dataPath.parser, { keepAliveTimeoutMs: 4000 });

class Forward implements UpstreamHandler {
  readonly res: RawResponse;

  constructor(res: RawResponse) {
    this.res = res;
  }

  onRawResponseStart(_controller: UpstreamRequest, status: number, rawHeaders: readonly string[]): void {
    const headers: string[] = [];
    endToEndResponseHeaders(rawHeaders, headers);
    this.res.writeHead(status, headers);
  }

  onResponseData(controller: UpstreamRequest, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once("drain", () => controller.resume());
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_controller: UpstreamRequest, error: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end(`raw-forwarder: ${error.message}`);
  }
}

function forward(req: RawRequest, res: RawResponse): void {
  // The router's own header pass: end-to-end headers copied, and whether a body follows.
  const headers: string[] = [];
  const { hasBody } = scanRequestHeaders(req.rawHeaders, headers);
  upstream.dispatch(
    { origin, path: req.url, method: req.method, headers, body: hasBody ? req : null },
    new Forward(res),
  );
}

const { listener } = createDataListener({
  component: "raw-forwarder",
  limits: DEFAULT_LIMITS,
  log: createLogger("raw-forwarder", "warn"),
  raw: dataPath.parser,
  onRequest: forward as never,
});
listener.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = listener.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
