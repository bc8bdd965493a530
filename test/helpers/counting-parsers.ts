import type { NodeParserBinding } from "../../common/http/raw/node-parser.ts";

/**
 * `real` with every parser it makes counted, and every close() of one: node's parsers are not
 * collected until closed, so each the raw path makes must be closed once its socket is gone.
 */
export function countingParsers(real: NodeParserBinding): {
  binding: NodeParserBinding;
  made: () => number;
  closed: () => number;
} {
  let made = 0;
  let closed = 0;
  const binding: NodeParserBinding = {
    ...real,
    create(kind, callbacks, max) {
      const parser = real.create(kind, callbacks, max);
      made++;
      const close = parser.close.bind(parser);
      parser.close = () => {
        closed++;
        close();
      };
      return parser;
    },
  };
  return { binding, made: () => made, closed: () => closed };
}
