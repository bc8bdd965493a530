import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { Http2Server } from "node:http2";
import type { Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.ts";
import { handleClientError } from "./client-error.ts";
import { capConnections } from "./connection-cap.ts";
import { closeIdleSessions } from "./h2-session-idle.ts";
import { createH2cListener } from "./h2c-listener.ts";
import { handOverTo } from "./hand-over.ts";
import { refusingUnsoundRequests, refusingUnsoundUpgrades } from "./http1-framing.ts";
import { http1Options, http2Options, type ListenerLimits } from "./listener-limits.ts";
import type { NodeParserBinding } from "./raw/node-parser.ts";
import { RawServer } from "./raw/raw-server.ts";
import { isWebSocketUpgrade } from "./websocket-upgrade.ts";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface DataListenerOptions {
  /** Names the component in replies and log lines ("router: …"). */
  component: string;
  limits: ListenerLimits;
  log: Logger;
  onRequest: RequestHandler;
  /** WebSocket upgrades; every other upgrade request reaches onRequest as an ordinary request. */
  onUpgrade?: UpgradeHandler;
  /** Frame HTTP/1.1 with this parser on raw sockets (the raw path); h2c and upgrades stay on node. */
  raw?: NodeParserBinding;
}

/**
 * A data-plane port: HTTP/1.1 and h2c on one listener, each server under the same limits.
 * The h2c server is made on the first h2c connection: loading node:http2 costs ~9 MB of RSS, in
 * every queue-proxy, and most pods never see a gRPC client. On the raw path the node:http server
 * too is made on the first connection it must take (an upgrade): node:http and serving through
 * it cost ~2 MB more.
 */
export interface DataListener {
  listener: NetServer;
  /** The h2c server, once a client has opened an h2c connection. */
  h2c(): Http2Server | undefined;
  /** The raw path's HTTP/1.1 connections, when it runs. */
  raw: RawServer | undefined;
  /** Closes HTTP/1.1 connections with no request in progress, on either path. */
  closeIdleConnections(): void;
  /** Cuts every HTTP/1.1 connection, on either path. */
  closeAllConnections(): void;
  /** Closes every h2c session gracefully (GOAWAY; open streams finish). */
  closeH2c(): void;
  /** Stops accepting connections; those open stay. */
  close(): void;
}

export function createDataListener(options: DataListenerOptions): DataListener {
  const { component, limits, log } = options;
  let http1: HttpServer | undefined;
  const http1Server = (): HttpServer => {
    if (http1 === undefined) {
      const { createServer } = process.getBuiltinModule("node:http");
      http1 = createServer(
        {
          ...http1Options(limits),
          shouldUpgradeCallback: options.onUpgrade ? isWebSocketUpgrade : () => false,
        },
        refusingUnsoundRequests(component, options.onRequest),
      );
      http1.on("clientError", handleClientError(component));
      if (options.onUpgrade) http1.on("upgrade", refusingUnsoundUpgrades(component, options.onUpgrade));
      // node's HTTP server arms its header/request timeout checks on 'listening'; it never listens
      // itself here (the net listener hands it connections), so tell it.
      http1.emit("listening");
    }
    return http1;
  };
  if (!options.raw) http1Server();
  let http2: Http2Server | undefined;
  const h2cServer = (): Http2Server => {
    if (http2 === undefined) {
      const { createServer: createHttp2Server } = process.getBuiltinModule("node:http2");
      http2 = createHttp2Server(
        http2Options(limits),
        refusingUnsoundRequests(component, options.onRequest) as never,
      );
      closeIdleSessions(http2, limits);
    }
    return http2;
  };
  const handOver = handOverTo(http1Server);
  const raw = options.raw
    ? new RawServer({
        component,
        binding: options.raw,
        limits,
        // The same checks as node:http's side; the raw request and response have the shapes they read.
        onRequest: refusingUnsoundRequests(component, options.onRequest) as never,
        handOver,
      })
    : undefined;
  const listener = createH2cListener(http1Server, h2cServer, {
    sniffTimeoutMs: limits.headersTimeoutMs,
    onHttp1: raw ? (socket, seen) => raw.accept(socket, seen) : undefined,
  });
  capConnections(listener, limits.maxConnections, log, component);
  return {
    listener,
    h2c: () => http2,
    raw,
    closeIdleConnections() {
      http1?.closeIdleConnections();
      raw?.closeIdleConnections();
    },
    closeAllConnections() {
      http1?.closeAllConnections();
      raw?.closeAllConnections();
      raw?.close();
    },
    closeH2c() {
      http2?.close();
    },
    close() {
      listener.close();
      http1?.close();
    },
  };
}
