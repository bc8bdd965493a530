import type { Http2SecureServer, Http2Server, ServerHttp2Session } from "node:http2";
import type { ListenerLimits } from "./listener-limits.ts";

/**
 * Closes every HTTP/2 session that has had no open stream for `h2IdleTimeoutMs` (GOAWAY, then the
 * connection): HTTP/2's keep-alive timeout. Unlike node's own session timeout this never cuts a
 * stream that is merely quiet, such as a request held while its revision scales up.
 * Until its first stream a session has only `headersTimeoutMs`, as an HTTP/1.1 connection has for
 * its first request head: a client that sends the preface and then nothing (or never finishes its
 * first HEADERS) is sent GOAWAY and cut, not held for the idle timeout.
 */
export function closeIdleSessions(
  server: Http2Server | Http2SecureServer,
  { headersTimeoutMs, h2IdleTimeoutMs }: Pick<ListenerLimits, "headersTimeoutMs" | "h2IdleTimeoutMs">,
): void {
  server.on("session", (session: ServerHttp2Session) => {
    let open = 0;
    let timer: NodeJS.Timeout | undefined;
    const closeIdle = () => {
      if (!session.closed && !session.destroyed) session.close();
    };
    session.on("stream", (stream) => {
      open++;
      clearTimeout(timer);
      stream.once("close", () => {
        if (--open === 0 && !session.closed) {
          timer = setTimeout(closeIdle, h2IdleTimeoutMs);
          timer.unref();
        }
      });
    });
    session.once("close", () => clearTimeout(timer));
    // destroy() sends GOAWAY too, and does not wait on a peer that reads nothing.
    timer = setTimeout(() => session.destroy(), headersTimeoutMs);
    timer.unref();
  });
}
