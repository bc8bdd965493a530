import { readFileSync } from "node:fs";
import type { Http2SecureServer } from "node:http2";
import type { Server as NetServer } from "node:net";
import {
  createDataListener,
  type RequestHandler,
  type UpgradeHandler,
} from "../common/http/data-listener.ts";
import { closeIdleSessions } from "../common/http/h2-session-idle.ts";
import { refusingUnsoundRequests, refusingUnsoundUpgrades } from "../common/http/http1-framing.ts";
import { limitServer } from "../common/http/limit-server.ts";
import { http2Options } from "../common/http/listener-limits.ts";
import type { NodeParserBinding } from "../common/http/raw/node-parser.ts";
import { isWebSocketUpgrade } from "../common/http/websocket-upgrade.ts";
import type { Logger } from "../common/log.ts";
import type { RouterConfig } from "./config.ts";

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

/**
 * The router's listeners, all sharing one request handler and one upgrade handler, and all under
 * the same limits: the TLS port's HTTP/1.1 side gets the plain port's settings (header timeout,
 * no request timeout of its own, header size, clientError replies) rather than node's defaults.
 */
export function createRouterServers(
  config: RouterConfig,
  log: Logger,
  /** Node's llhttp binding when the raw HTTP/1.1 path runs. */
  raw: NodeParserBinding | undefined,
  handlers: {
    forPlain: RequestHandler;
    forTls: RequestHandler;
    upgradePlain: UpgradeHandler;
    upgradeTls: UpgradeHandler;
  },
): RouterServers {
  const { limits } = config;
  const data = createDataListener({
    component: "router",
    limits,
    log,
    onRequest: handlers.forPlain,
    onUpgrade: handlers.upgradePlain,
    raw,
  });
  const { listener: plain } = data;
  let tls: Http2SecureServer | undefined;
  if (config.tls) {
    // node:http2 only with a TLS port (~9 MB of RSS); h2c loads it on its first connection.
    const { createSecureServer } = process.getBuiltinModule("node:http2");
    tls = createSecureServer(
      {
        ...http2Options(limits),
        cert: readFileSync(config.tls.certFile),
        key: readFileSync(config.tls.keyFile),
        allowHTTP1: true,
        // A client that connects and never finishes its handshake is dropped like a silent one.
        handshakeTimeout: limits.headersTimeoutMs,
        // A TLS client that negotiates neither h2 nor http/1.1 is dropped after the header timeout.
        unknownProtocolTimeout: limits.headersTimeoutMs,
      },
      refusingUnsoundRequests("router", handlers.forTls) as never,
    );
    limitServer(tls, limits, log, "router");
    Object.assign(tls, { shouldUpgradeCallback: isWebSocketUpgrade });
    tls.on("upgrade", refusingUnsoundUpgrades("router", handlers.upgradeTls));
    closeIdleSessions(tls, limits);
  }
  return {
    plain,
    tls,
    stopAccepting() {
      plain.close();
      tls?.close();
      data.closeIdleConnections();
      data.closeH2c();
    },
    closeAll() {
      data.closeAllConnections();
    },
  };
}
