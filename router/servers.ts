import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createServer as createHttp2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
} from "node:http2";
import type { Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import { handleClientError } from "../common/http/client-error.ts";
import { createH2cListener } from "../common/http/h2c-listener.ts";
import type { RouterConfig } from "./config.ts";

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface RouterServers {
  /** HTTP/1.1 and h2c on one port. */
  plain: NetServer;
  /** HTTPS with HTTP/2 and HTTP/1.1 by ALPN, when a cert/key pair is configured. */
  tls: Http2SecureServer | undefined;
  /** Closes idle connections and stops accepting; open requests go on. */
  stopAccepting(): void;
  /** Cuts every remaining connection. */
  closeAll(): void;
}

/** The router's listeners, all sharing one request handler and one upgrade handler. */
export function createRouterServers(
  config: RouterConfig,
  handlers: {
    forPlain: RequestHandler;
    forTls: RequestHandler;
    upgradePlain: UpgradeHandler;
    upgradeTls: UpgradeHandler;
  },
): RouterServers {
  const http1: Server = createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 2),
    },
    handlers.forPlain,
  );
  http1.on("clientError", handleClientError("router"));
  http1.on("upgrade", handlers.upgradePlain);
  const http2: Http2Server = createHttp2Server(
    { settings: { maxHeaderListSize: config.maxHeaderBytes } },
    handlers.forPlain as never,
  );
  const plain = createH2cListener(http1, http2);
  let tls: Http2SecureServer | undefined;
  if (config.tls) {
    tls = createSecureServer(
      {
        cert: readFileSync(config.tls.certFile),
        key: readFileSync(config.tls.keyFile),
        allowHTTP1: true,
        settings: { maxHeaderListSize: config.maxHeaderBytes },
      },
      handlers.forTls as never,
    );
    tls.on("upgrade", handlers.upgradeTls);
  }
  return {
    plain,
    tls,
    stopAccepting() {
      plain.close();
      tls?.close();
      http1.closeIdleConnections();
      http2.close();
    },
    closeAll() {
      http1.closeAllConnections();
    },
  };
}
