// Readiness checks for startAndWait: one attempt each, false on any failure.
import { connect } from "node:net";
import { request } from "undici";

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
      socket.setTimeout(1000, () => done(false));
    });
}

/** Whether GET url answers 200 (a /readyz, or a proxy that reaches its app). */
export function answers200(url: string): () => Promise<boolean> {
  return async () => {
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  };
}
