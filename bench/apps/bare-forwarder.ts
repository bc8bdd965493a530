// The floor for a Node proxy: the fastest forwarder we know how to write with node:http and
// undici's dispatch API, with nothing else (no limits, stats, timeouts or metrics). The
// queue-proxy and router are measured against it.
import { createServer, type ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { endToEndHeaderObject } from "../../common/http/hop-by-hop.ts";
import { scanRequestHeaders } from "../../common/http/request-headers.ts";
import { createPool } from "../../common/http/undici-dispatchers.ts";

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestStart"]>>[0];

const upstream = createPool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, {
  pipelining: 1,
  keepAliveTimeout: 60_000,
});

function onDrain(this: ServerResponse & { controller?: Controller }): void {
  this.controller?.resume();
}

// One object per request serves as the whole handler: no closures.
class Forward implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse & { controller?: Controller };
  constructor(res: ServerResponse) {
    this.res = res;
  }
  onRequestStart(controller: Controller): void {
    this.res.controller = controller;
  }
  onResponseStart(
    _c: Controller,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.res.writeHead(status, endToEndHeaderObject(headers));
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once("drain", onDrain);
    }
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(_c: Controller, error: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else {
      this.res.statusCode = 502;
      this.res.end(error.message);
    }
  }
}

const server = createServer((req, res) => {
  const headers: string[] = [];
  const facts = scanRequestHeaders(req.rawHeaders, headers);
  upstream.dispatch(
    {
      path: req.url ?? "/",
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: facts.hasBody ? req : null,
    },
    new Forward(res),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
