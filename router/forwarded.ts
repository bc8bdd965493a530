import type { IncomingMessage } from "node:http";

/**
 * The X-Forwarded-* headers the router, as the edge, adds to the upstream request (in place in
 * the flat header list): the client's address appended to X-Forwarded-For; X-Forwarded-Proto and
 * X-Forwarded-Host set unless a proxy in front of the router already set them; X-Forwarded-Prefix
 * when a path prefix chose the route (the prefix was removed from the path).
 */
export function addForwardedHeaders(
  out: string[],
  req: IncomingMessage,
  proto: "http" | "https",
  host: string | undefined,
  prefix: string | undefined,
): void {
  const client = req.socket.remoteAddress ?? "";
  let sawProto = false;
  let sawHost = false;
  let forwardedFor = -1;
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i];
    if (name.length < 15 || (name.charCodeAt(0) | 0x20) !== 120 /* x */) continue;
    const lower = name.toLowerCase();
    if (lower === "x-forwarded-for") forwardedFor = i + 1;
    else if (lower === "x-forwarded-proto") sawProto = true;
    else if (lower === "x-forwarded-host") sawHost = true;
  }
  if (forwardedFor === -1) out.push("x-forwarded-for", client);
  else out[forwardedFor] = `${out[forwardedFor]}, ${client}`;
  if (!sawProto) out.push("x-forwarded-proto", proto);
  if (!sawHost && host !== undefined) out.push("x-forwarded-host", host);
  if (prefix !== undefined) out.push("x-forwarded-prefix", prefix);
}
