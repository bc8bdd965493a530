import type { NodeParserBinding } from "../../common/http/raw/node-parser.ts";

/**
 * `real` with every parser it makes counted, and every close() of one (node's parsers are not
 * collected until closed, so each the raw path makes must be closed once its socket is gone), and
 * the heads and body bytes they frame (how far a connection was read).
 */
export function countingParsers(real: NodeParserBinding): {
  binding: NodeParserBinding;
  made: () => number;
  closed: () => number;
  heads: () => number;
  bodyBytes: () => number;
} {
  let made = 0;
  let closed = 0;
  let heads = 0;
  let bodyBytes = 0;
  const binding: NodeParserBinding = {
    ...real,
    create(kind, callbacks, max) {
      const parser = real.create(
        kind,
        {
          onHeaders: (headers, url) => callbacks.onHeaders(headers, url),
          onHeadersComplete: (...head) => {
            heads++;
            return callbacks.onHeadersComplete(...head);
          },
          onBody: (chunk) => {
            bodyBytes += chunk.length;
            callbacks.onBody(chunk);
          },
          onMessageComplete: () => callbacks.onMessageComplete(),
          onExecute: (result) => callbacks.onExecute(result),
        },
        max,
      );
      made++;
      const close = parser.close.bind(parser);
      parser.close = () => {
        closed++;
        close();
      };
      return parser;
    },
  };
  return {
    binding,
    made: () => made,
    closed: () => closed,
    heads: () => heads,
    bodyBytes: () => bodyBytes,
  };
}
