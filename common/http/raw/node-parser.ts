// Node's own llhttp binding, the parser node:http frames with, reached through `_http_common`
// (a module node keeps for compatibility, not a documented API). It can read a socket's handle
// directly in C++ (consume): no 'data' event per read, which is most of what the raw path saves.
// Being internal, it is checked at start-up; anything missing and the component keeps the
// node:http path (data-path.ts).
import { loadStreamWrap, type StreamWrapBinding } from "./socket-writer.ts";

/** The parser's callbacks, installed by index as node:http does. */
export interface ParserCallbacks {
  /** Headers flushed early (more than 32 pairs) or trailers; `url` only for requests. */
  onHeaders(headers: string[], url: string): void;
  /** `headers`/`url` are undefined when flushed early through onHeaders. Return 1 to skip a body. */
  onHeadersComplete(
    versionMajor: number,
    versionMinor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    statusCode: number,
    statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number | undefined;
  onBody(chunk: Buffer): void;
  onMessageComplete(): void;
  /** After each read the parser consumed: bytes parsed, or the parse error. */
  onExecute(result: number | ParseError): void;
}

export interface ParseError extends Error {
  code: string;
  bytesParsed?: number;
}

export interface NodeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  consume(handle: object): void;
  unconsume(): void;
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError | undefined;
  getCurrentBuffer(): Buffer;
  remove(): void;
  close(): void;
  free(): void;
  [index: number]: unknown;
}

export interface NodeParserBinding {
  create(kind: "request" | "response", callbacks: ParserCallbacks, maxHeaderSize: number): NodeParser;
  /** Method names by llhttp's method number. */
  methods: readonly string[];
  /** The write side of the same internals: sockets written without net.Socket's Writable. */
  streamWrap: StreamWrapBinding;
}

interface ParserClass {
  new (): NodeParser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  prototype: Record<string, unknown>;
}

const NEEDED_METHODS = [
  "initialize",
  "consume",
  "unconsume",
  "execute",
  "finish",
  "getCurrentBuffer",
  "close",
];
const NEEDED_CONSTANTS = [
  "REQUEST",
  "RESPONSE",
  "kOnHeaders",
  "kOnHeadersComplete",
  "kOnBody",
  "kOnMessageComplete",
  "kOnExecute",
];

/**
 * Node's parser (and the socket writes of socket-writer.ts), or why they cannot be used. `load`
 * stands in for require("_http_common") in tests, `loadStreamWrapBinding` for stream_wrap.
 */
export function loadNodeParser(
  // Not through node:module's createRequire: that module costs ~0.5 MB of RSS (docs/prebuilt.md).
  load: () => unknown = () => process.getBuiltinModule("_http_common"),
  loadStreamWrapBinding?: () => unknown,
): NodeParserBinding | { problem: string } {
  let common: { HTTPParser?: ParserClass; methods?: string[] };
  try {
    common = load() as typeof common;
  } catch (error) {
    return { problem: `_http_common: ${(error as Error).message}` };
  }
  const Parser = common?.HTTPParser;
  if (typeof Parser !== "function") return { problem: "_http_common has no HTTPParser" };
  for (const name of NEEDED_METHODS)
    if (typeof Parser.prototype[name] !== "function") return { problem: `HTTPParser has no ${name}()` };
  for (const name of NEEDED_CONSTANTS)
    if (typeof Parser[name as keyof ParserClass] !== "number")
      return { problem: `HTTPParser has no ${name}` };
  const methods = common.methods;
  if (!Array.isArray(methods) || methods[1] !== "GET")
    return { problem: "_http_common's methods are not llhttp's" };
  const streamWrap = loadStreamWrap(loadStreamWrapBinding);
  if ("problem" in streamWrap) return streamWrap;
  const resource = { type: "SLUICE_RAW_HTTP" };
  return {
    methods,
    streamWrap,
    create(kind, callbacks, maxHeaderSize) {
      const parser = new Parser();
      parser.initialize(kind === "request" ? Parser.REQUEST : Parser.RESPONSE, resource, maxHeaderSize, 0);
      parser[Parser.kOnHeaders] = callbacks.onHeaders.bind(callbacks);
      parser[Parser.kOnHeadersComplete] = callbacks.onHeadersComplete.bind(callbacks);
      parser[Parser.kOnBody] = callbacks.onBody.bind(callbacks);
      parser[Parser.kOnMessageComplete] = callbacks.onMessageComplete.bind(callbacks);
      parser[Parser.kOnExecute] = callbacks.onExecute.bind(callbacks);
      return parser;
    },
  };
}

/** A socket's native handle, when the parser can read it directly (a plain TCP socket). */
export function consumableHandle(socket: object): object | undefined {
  const handle = (socket as { _handle?: { isStreamBase?: boolean; _consumed?: boolean } })._handle;
  return handle?.isStreamBase && !handle._consumed ? handle : undefined;
}
