// A long-lived GET (the autoscaler's state watch) on node:http, which every component has loaded
// anyway. undici's request() pulls in its whole index and node:http2 with it: ~20 MB of RSS in a
// router that otherwise has no use for undici.
import { request as httpRequest, type IncomingMessage } from "node:http";

export interface StreamGetOptions {
  headers?: Record<string, string>;
  /** Aborting it ends the request, or the body's iteration with an AbortError. */
  signal?: AbortSignal;
}

/**
 * Opens `url` (http: or https:) and resolves with the response once its head has arrived; the body
 * is the response itself (async-iterable). Its own connection, no timeout: an idle stream is
 * normal, the caller's heartbeats and abort bound it.
 */
export function streamGet(url: string, options: StreamGetOptions = {}): Promise<IncomingMessage> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:")
    return Promise.reject(new Error(`${url}: expected an http: or https: URL`));
  const request = target.protocol === "https:" ? process.getBuiltinModule("node:https").request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, { headers: options.headers, signal: options.signal, agent: false }, resolve);
    req.once("error", reject);
    req.end();
  });
}

/** The rest of a response's body as text, at most `maxBytes` of it (an error page, for a message). */
export async function readText(res: IncomingMessage, maxBytes = 64 * 1024): Promise<string> {
  let text = "";
  res.setEncoding("utf8");
  for await (const chunk of res) {
    text += chunk;
    if (text.length >= maxBytes) {
      res.destroy();
      break;
    }
  }
  return text;
}
