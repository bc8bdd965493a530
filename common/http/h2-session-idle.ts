import type { Http2SecureServer, Http2Server, ServerHttp2Session } from "node:http2";

/**
 * Closes (GOAWAY, then the connection) every HTTP/2 session that has had no open stream for
 * `idleMs`: HTTP/2's keep-alive timeout. Unlike node's own session timeout this never cuts a
 * stream that is merely quiet, such as a request held while its revision scales up.
 */
export function closeIdleSessions(server: Http2Server | Http2SecureServer, idleMs: number): void {
  server.on("session", (session: ServerHttp2Session) => {
    let open = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        if (!session.closed && !session.destroyed) session.close();
      }, idleMs);
      timer.unref();
    };
    session.on("stream", (stream) => {
      open++;
      clearTimeout(timer);
      stream.once("close", () => {
        if (--open === 0 && !session.closed) arm();
      });
    });
    session.once("close", () => clearTimeout(timer));
    arm();
  });
}
