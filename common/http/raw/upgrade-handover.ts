import type { RawRequest } from "./raw-request.ts";

/**
 * The head of an upgrade request (WebSocket) or CONNECT that the raw path does not serve, written
 * again from what llhttp parsed so node:http can parse it afresh and take the connection over.
 * Safe to re-serialise: llhttp has already validated every token and value.
 */
export function upgradeHead(req: Pick<RawRequest, "method" | "url" | "httpVersion" | "rawHeaders">): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}
