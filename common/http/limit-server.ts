import type { Server as HttpServer } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { Logger } from "../log.ts";
import { handleClientError } from "./client-error.ts";
import { capConnections } from "./connection-cap.ts";
import { applyHttp1Limits, type ListenerLimits } from "./listener-limits.ts";

/**
 * Puts an HTTP/1.1 server made elsewhere (the autoscaler API, an admin port, the TLS port's
 * HTTP/1.1 side) under the listener limits: timeouts, header size, clientError replies naming
 * `name`, and the connection cap. Call before listen().
 */
export function limitServer(
  server: HttpServer | Http2SecureServer,
  limits: ListenerLimits,
  log: Logger,
  name: string,
): void {
  applyHttp1Limits(server, limits);
  server.on("clientError", handleClientError(name));
  capConnections(server, limits.maxConnections, log, name);
}
