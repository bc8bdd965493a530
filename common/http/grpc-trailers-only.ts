import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { firstOfSingleValue } from "./h2-single-value.ts";
import { endToEndHeaderObject } from "./hop-by-hop.ts";

type Headers = Record<string, string | string[] | undefined>;

/**
 * gRPC's "trailers-only" response (an error with no messages) puts grpc-status in the response
 * HEADERS frame with END_STREAM set. node's HTTP/2 compatibility response always sends headers and
 * the end of stream apart, which gRPC clients read as "no status". When an HTTP/2 response carries
 * grpc-status in its headers, it is trailers-only by definition: send it as such, on the stream.
 * Returns whether it did; throws what node's stream.respond throws (a status HTTP/2 cannot carry).
 */
export function sendGrpcTrailersOnly(
  res: ServerResponse | Http2ServerResponse,
  httpVersionMajor: number,
  status: number,
  headers: Headers,
): boolean {
  if (httpVersionMajor !== 2 || headers["grpc-status"] === undefined) return false;
  const { stream } = res as Http2ServerResponse;
  if (stream.headersSent || stream.destroyed) return false;
  const flat = firstOfSingleValue(endToEndHeaderObject(headers));
  const out: Record<string, string | string[]> = { ":status": String(status) };
  for (let i = 0; i < flat.length; i += 2) {
    const existing = out[flat[i]];
    out[flat[i]] = existing === undefined ? flat[i + 1] : [existing, flat[i + 1]].flat();
  }
  stream.respond(out, { endStream: true });
  return true;
}
