// An app's HTTP/1.1 response may repeat a header that node's HTTP/2 API takes once only (two
// X-Content-Type-Options, one from a framework and one from a middleware): node throws
// ERR_HTTP2_HEADER_SINGLE_VALUE rather than send it to an HTTP/2 client. The first value goes on,
// as node's own HTTP/1 parser keeps the first of most of these (IncomingMessage.headers).

/**
 * The response headers node 24's Http2ServerResponse refuses twice (found by trying every
 * HTTP2_HEADER_* name; test/common/h2-single-value.test.ts checks the list against node).
 */
export const H2_SINGLE_VALUE: ReadonlySet<string> = new Set([
  "access-control-allow-credentials",
  "access-control-max-age",
  "access-control-request-method",
  "age",
  "authorization",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-md5",
  "content-range",
  "content-type",
  "date",
  "dnt",
  "etag",
  "expires",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "range",
  "referer",
  "retry-after",
  "tk",
  "upgrade-insecure-requests",
  "user-agent",
  "x-content-type-options",
]);

/** `headers` (a flat name, value list) with only the first value of each single-value header. */
export function firstOfSingleValue(headers: string[]): string[] {
  let seen: Set<string> | undefined;
  let out: string[] | undefined; // made only once a value is dropped
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i].toLowerCase();
    if (H2_SINGLE_VALUE.has(name)) {
      seen ??= new Set();
      if (seen.has(name)) {
        out ??= headers.slice(0, i);
        continue;
      }
      seen.add(name);
    }
    out?.push(headers[i], headers[i + 1]);
  }
  return out ?? headers;
}
