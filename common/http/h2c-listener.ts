import type { Server as HttpServer } from "node:http";
import type { Http2Server } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";

// Every HTTP/2 cleartext connection with prior knowledge (gRPC's h2c) opens with this preface.
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One port for HTTP/1.1 and h2c: the first bytes of each connection decide which server gets it.
 * Costs one read per connection, nothing per request. A connection that has not decided within
 * `sniffTimeoutMs` (silent, or stuck inside the HTTP/2 preface) is closed: neither server's own
 * timeouts see it yet.
 *
 * Both servers get the net.Socket itself, the bytes read so far given back with unshift(): node's
 * HTTP/2 session feeds what is already buffered to its parser before reading the native handle.
 * Any wrapper (a Duplex) would make node put a JSStreamSocket in between, with no peer address
 * (X-Forwarded-For, trusted proxies) and a JavaScript hop on every read and write.
 */
export function createH2cListener(
  /** The HTTP/1 server, asked for when a connection goes to it (and not to onHttp1). */
  http1: () => HttpServer,
  /** The h2c server, made on the first h2c connection (node:http2 is loaded only then). */
  http2: () => Http2Server,
  {
    sniffTimeoutMs,
    onHttp1,
  }: {
    sniffTimeoutMs: number;
    /** Takes HTTP/1 connections instead of `http1` (the raw path), with the bytes read so far. */
    onHttp1?: (socket: Socket, seen: Buffer) => void;
  },
): NetServer {
  return createNetServer({ noDelay: true }, (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    // Absolute, not idle: a client dripping the preface a byte at a time gains nothing.
    const sniffTimer = setTimeout(() => socket.destroy(), sniffTimeoutMs);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const compared = Math.min(seen.length, PREFACE.length);
      const isHttp2 = seen.subarray(0, compared).equals(PREFACE.subarray(0, compared));
      if (isHttp2 && seen.length < PREFACE.length) return; // wait for the rest of the preface
      socket.off("data", onData);
      clearTimeout(sniffTimer);
      if (!isHttp2 && onHttp1) {
        socket.removeAllListeners("error");
        socket.removeAllListeners("close");
        onHttp1(socket, seen);
        return;
      }
      socket.pause();
      socket.unshift(seen);
      if (isHttp2) {
        http2().emit("connection", socket);
        return;
      }
      http1().emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => clearTimeout(sniffTimer));
  });
}
