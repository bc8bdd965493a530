import type { ServerResponse } from "node:http";
import { STATUS_TEXT } from "./status-text.ts";

/**
 * The data plane's own answers: a status and a short text body naming the cause, so a user reading
 * curl output knows which hop said no and why.
 */
export function sendPlain(
  res: ServerResponse,
  status: number,
  message: string,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    // Too late for a status: a clean reset tells the client the response is incomplete.
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A plain-text HTTP/1.1 response written straight to a socket (before or instead of a 101), with
 * node's reason phrase for the status.
 */
export function rawResponse(status: number, message: string, headers: Record<string, string> = {}): string {
  const body = `${message}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}
