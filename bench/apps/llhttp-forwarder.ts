// The technique's own floor: about the least a Node forwarder on raw sockets framed by llhttp does
// per request, with none of sluice's code on the request path (sluice's start-up check of node's
// stream binding aside). raw-forwarder.ts is sluice's raw path with nothing of the router; this is
// the same technique with nothing of sluice's raw path either (no request and response objects, no
// pool, no sweeps, one pass over the headers each way), so the pair says how much of the raw
// path's cost is its own code and how much is Node's. It is as lean as the experiment behind issue
// 13's goals: each client connection gets its own upstream connection, and each socket is written
// through its native handle.
//
// LLHTTP picks the parser: `node` (default), node's binding reading each socket in C++ and calling
// JavaScript per parser event and per read; or `wasm`, undici's WebAssembly build, fed from the
// handle's read callback (one JavaScript call per read, parser events as calls out of WebAssembly).
//
// It forwards only what the benchmark sends, and says so: requests without a body, not HEAD, not
// an upgrade (others get 501, after the answers due before them), answers buffered whole and
// sent on with their length (fine for a small answer, not for streaming), fixed hop-by-hop
// headers dropped (as nginx does, not the names Connection lists). Connection: close and
// HTTP/1.0 are not honoured (the connection stays open), and a 204's or 1xx's answer gets
// content-length: 0: the load sends neither.
// Node internals (process.binding's stream_wrap, _http_common), like the raw path itself.
//
// PORT (0 = any; reported over IPC when there is a channel), UPSTREAM_PORT (on 127.0.0.1), LLHTTP.
import { createRequire } from "node:module";
import { connect, createServer, type Socket } from "node:net";
import { loadStreamWrap, type StreamWrapBinding } from "../../common/http/raw/socket-writer.ts";
import { upstreamPort } from "./upstream-port.ts";

const require = createRequire(import.meta.url);
const appPort = upstreamPort("llhttp-forwarder");
const parserName = process.env.LLHTTP ?? "node";
if (parserName !== "node" && parserName !== "wasm")
  throw new Error(`llhttp-forwarder: LLHTTP must be node or wasm, got ${JSON.stringify(parserName)}`);

// ---- writes, straight to the handle ----
interface WriteReq {
  oncomplete: (status: number) => void;
  handle?: Handle;
}
interface Handle {
  writeLatin1String(req: WriteReq, data: string): number;
  onread: (this: Handle, buffer: ArrayBuffer) => void;
  context?: WasmParser;
}
// Loaded and checked at start as the raw path does (a start-up step, not per request).
const loaded = loadStreamWrap();
if ("problem" in loaded) throw new Error(`llhttp-forwarder: ${loaded.problem}`);
// The read callback's two slots too, which the raw path does not use (its parser reads in C++).
const streamWrap = loaded as unknown as Omit<StreamWrapBinding, "WriteWrap"> & {
  WriteWrap: new () => WriteReq;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
};
const state = streamWrap.streamBaseState;

function ignore(): void {}
let spareReq: WriteReq | null = null;
function write(handle: Handle, data: string): void {
  const req = spareReq ?? new streamWrap.WriteWrap();
  spareReq = null;
  req.oncomplete = ignore;
  req.handle = handle;
  if (handle.writeLatin1String(req, data) === 0 && state[streamWrap.kLastWriteWasAsync] === 0) spareReq = req;
}
const handleOf = (socket: Socket) => (socket as unknown as { _handle: Handle })._handle;
/** toString("latin1") without its encoding lookup: node's own method underneath it. */
const latin1 = (buffer: Buffer, start: number, end: number) =>
  (buffer as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

// ---- one client connection and its upstream connection ----
// A fixed set of hop-by-hop names, not sluice's own list (common/http/hop-by-hop.ts, which also
// reads the Connection header's tokens): this forwarder stands for the technique, not for sluice.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

class Pair {
  readonly client: Socket;
  readonly clientHandle: Handle;
  upstreamHandle: Handle | null = null;
  upstream: Socket | null = null;
  /** Request heads held until the upstream connection is made. */
  waiting = "";
  /** Requests sent upstream and not answered yet (pipelined ones answer in order). */
  outstanding = 0;
  /** The last thing this connection says (a 501, 400 or 502), once the answers before it are out. */
  lastWords: string | null = null;
  answerHead = "";
  answerBody = "";

  constructor(client: Socket) {
    this.client = client;
    this.clientHandle = handleOf(client);
    client.on("error", () => this.onClientGone());
    client.on("close", () => this.onClientGone());
  }

  onRequest(method: string, url: string, headers: readonly string[]): void {
    if (this.lastWords !== null) return; // refused already: nothing after it goes upstream
    // A HEAD's answer announces a length whose body never comes; an upgrade is not HTTP after it.
    if (method === "HEAD") {
      this.#end(NOT_IMPLEMENTED);
      return;
    }
    let head = `${method} ${url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i].toLowerCase();
      const body = name === "content-length" ? headers[i + 1] !== "0" : name === "transfer-encoding";
      if (body || name === "upgrade") {
        this.#end(NOT_IMPLEMENTED);
        return;
      }
      // Request names go on as sent (as nginx does); only the answer's are lower-cased, below.
      if (!HOP_BY_HOP.has(name)) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    head += "\r\n";
    this.outstanding++;
    if (this.upstreamHandle !== null) write(this.upstreamHandle, head);
    else if (this.upstream === null) this.#connect(head);
    else this.waiting += head;
  }

  onAnswerStart(status: number, headers: readonly string[]): void {
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i].toLowerCase();
      if (!HOP_BY_HOP.has(name) && name !== "content-length") head += `${name}: ${headers[i + 1]}\r\n`;
    }
    this.answerHead = head;
    this.answerBody = "";
  }

  onAnswerBody(text: string): void {
    this.answerBody += text;
  }

  onAnswerEnd(): void {
    write(
      this.clientHandle,
      `${this.answerHead}content-length: ${this.answerBody.length}\r\n\r\n${this.answerBody}`,
    );
    this.outstanding--;
    if (this.outstanding === 0 && this.lastWords !== null) this.#end(this.lastWords);
  }

  /** A parser found bad framing: the client's (400) or the app's (502). */
  onParseError(side: "request" | "response"): void {
    this.#end(side === "request" ? BAD_REQUEST : BAD_GATEWAY);
  }

  /** The app's connection failed or closed: a 502 if an answer was still due, else just the end. */
  onUpstreamGone(): void {
    this.upstream?.destroy();
    if (this.outstanding > 0) {
      this.outstanding = 0;
      this.#end(BAD_GATEWAY);
    } else this.client.end(); // after what is queued: an answer in flight is not cut
  }

  onClientGone(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** Says `words` once the answers due before it are out, then closes the connection. */
  #end(words: string): void {
    this.lastWords ??= words;
    if (this.outstanding > 0) return;
    write(this.clientHandle, this.lastWords);
    this.client.end();
    this.upstream?.destroy();
  }

  #connect(head: string): void {
    const upstream = connect({ port: appPort, host: "127.0.0.1", noDelay: true });
    this.upstream = upstream;
    this.waiting = head;
    upstream.on("error", () => this.onUpstreamGone());
    upstream.on("close", () => this.onUpstreamGone());
    upstream.on("connect", () => {
      this.upstreamHandle = handleOf(upstream);
      readWith(upstream, "response", this);
      write(this.upstreamHandle, this.waiting);
      this.waiting = "";
    });
  }
}

const closing = (status: string) => `HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`;
const NOT_IMPLEMENTED = closing("501 Not Implemented");
const BAD_REQUEST = closing("400 Bad Request");
const BAD_GATEWAY = closing("502 Bad Gateway");
const STATUS_TEXT = require("node:http").STATUS_CODES as Record<number, string>;

// ---- node's llhttp binding, reading the handle in C++ ----
interface NodeParser {
  initialize(kind: number, resource: object, maxHeaderSize: number, lenient: number): void;
  consume(handle: Handle): void;
  close(): void;
  [callback: number]: unknown;
}
const common = require("node:_http_common") as {
  HTTPParser: (new () => NodeParser) & Record<string, number>;
  methods: string[];
};
const { HTTPParser } = common;
const resource = { type: "LLHTTP_FORWARDER" };

function nodeParser(side: "request" | "response", pair: Pair): NodeParser {
  const parser = new HTTPParser();
  parser.initialize(side === "request" ? HTTPParser.REQUEST : HTTPParser.RESPONSE, resource, 16384, 0);
  // Past 32 headers node hands them (and the target so far) over early, here, and then not again
  // with the head.
  let early: string[] = [];
  let earlyUrl = "";
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    early.push(...headers);
    earlyUrl += url;
  };
  const all = (headers: string[] | undefined) => {
    const out = headers === undefined ? early : early.length === 0 ? headers : [...early, ...headers];
    early = [];
    return out;
  };
  const target = (url: string | undefined) => {
    const out = url ?? earlyUrl;
    earlyUrl = "";
    return out;
  };
  if (side === "request") {
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      method: number,
      url: string | undefined,
    ) => pair.onRequest(common.methods[method], target(url), all(headers));
    parser[HTTPParser.kOnBody] = ignore;
    parser[HTTPParser.kOnMessageComplete] = ignore;
  } else {
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
      _method: number,
      _url: string,
      status: number,
    ) => pair.onAnswerStart(status, all(headers));
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => pair.onAnswerBody(latin1(chunk, 0, chunk.length));
    parser[HTTPParser.kOnMessageComplete] = () => pair.onAnswerEnd();
  }
  // The one place node's binding reports a framing error: without it a bad request would hang.
  parser[HTTPParser.kOnExecute] = (result: unknown) => {
    if (result instanceof Error) pair.onParseError(side);
  };
  return parser;
}

// ---- undici's llhttp WebAssembly build, fed from the handle's read callback ----
interface WasmParser {
  side: "request" | "response";
  pair: Pair;
  pointer: number;
  url: string;
  headers: string[];
  /** Whether the last piece was part of a header's value (so a new field starts now). */
  inValue: boolean;
}
interface Llhttp {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, at: number, length: number): number;
  llhttp_get_method(parser: number): number;
}
/** The read copied into WebAssembly's memory: node reads up to 64 KiB at once; grown if more. */
let readSize = 65536;
let llhttp: Llhttp | null = null;
/** llhttp's parser types (request, response), read from undici's constants with the module. */
let wasmTypes = { REQUEST: 0, RESPONSE: 0 };
let wasmPausedUpgrade = -1;
let readAt = 0;
let memory = Buffer.alloc(0);
let parsing: WasmParser;

function wasmText(at: number, length: number): string {
  if (memory.buffer !== (llhttp as Llhttp).memory.buffer)
    memory = Buffer.from((llhttp as Llhttp).memory.buffer);
  return latin1(memory, at, at + length);
}

function loadWasm(): Llhttp {
  const { ERROR, METHODS, TYPE } = require("undici/lib/llhttp/constants.js") as {
    ERROR: { PAUSED_UPGRADE: number };
    METHODS: Record<string, number>;
    TYPE: { REQUEST: number; RESPONSE: number };
  };
  wasmPausedUpgrade = ERROR.PAUSED_UPGRADE;
  const methodNames: string[] = [];
  for (const [name, id] of Object.entries(METHODS)) methodNames[id] = name;
  wasmTypes = TYPE;
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(require("undici/lib/llhttp/llhttp_simd-wasm.js")),
    {
      env: {
        wasm_on_message_begin: () => {
          parsing.url = "";
          parsing.headers = [];
          parsing.inValue = false;
          return 0;
        },
        wasm_on_url: (_p: number, at: number, length: number) => {
          parsing.url += wasmText(at, length);
          return 0;
        },
        wasm_on_status: () => 0,
        wasm_on_header_field: (_p: number, at: number, length: number) => {
          const text = wasmText(at, length);
          if (parsing.inValue || parsing.headers.length === 0) parsing.headers.push(text, "");
          else parsing.headers[parsing.headers.length - 2] += text;
          parsing.inValue = false;
          return 0;
        },
        wasm_on_header_value: (_p: number, at: number, length: number) => {
          parsing.headers[parsing.headers.length - 1] += wasmText(at, length);
          parsing.inValue = true;
          return 0;
        },
        wasm_on_headers_complete: (pointer: number, status: number) => {
          const { pair, side } = parsing;
          if (side === "request")
            pair.onRequest(
              methodNames[(llhttp as Llhttp).llhttp_get_method(pointer)],
              parsing.url,
              parsing.headers,
            );
          else pair.onAnswerStart(status, parsing.headers);
          return 0;
        },
        wasm_on_body: (_p: number, at: number, length: number) => {
          if (parsing.side === "response") parsing.pair.onAnswerBody(wasmText(at, length));
          return 0;
        },
        wasm_on_message_complete: () => {
          if (parsing.side === "response") parsing.pair.onAnswerEnd();
          return 0;
        },
      },
    },
  );
  const exports = instance.exports as unknown as Llhttp;
  readAt = exports.malloc(readSize);
  return exports;
}
function onWasmRead(this: Handle, buffer: ArrayBuffer): void {
  const parser = this.context as WasmParser;
  const length = state[streamWrap.kReadBytesOrError];
  if (length < 0) {
    // EOF or a read error: net.Socket never hears of it, this read callback being ours.
    if (parser.side === "request") parser.pair.onClientGone();
    else parser.pair.onUpstreamGone();
    return;
  }
  const wasm = llhttp as Llhttp;
  if (length > readSize) {
    wasm.free(readAt);
    readSize = length;
    readAt = wasm.malloc(readSize);
  }
  new Uint8Array(wasm.memory.buffer, readAt, length).set(
    new Uint8Array(buffer, state[streamWrap.kArrayBufferOffset], length),
  );
  parsing = parser;
  const result = wasm.llhttp_execute(parser.pointer, readAt, length);
  // A paused upgrade is a request already refused (onRequest): not a framing error.
  if (result !== 0 && result !== wasmPausedUpgrade) parser.pair.onParseError(parser.side);
}

function readWith(socket: Socket, side: "request" | "response", pair: Pair): void {
  const handle = handleOf(socket);
  if (parserName === "node") {
    const parser = nodeParser(side, pair);
    parser.consume(handle);
    // Not collected on its own (it holds the pair through its callbacks): freed as node:http does.
    socket.once("close", () => setImmediate(() => parser.close()));
    return;
  }
  llhttp ??= loadWasm();
  const wasm = llhttp;
  const pointer = wasm.llhttp_alloc(side === "request" ? wasmTypes.REQUEST : wasmTypes.RESPONSE);
  handle.context = { side, pair, pointer, url: "", headers: [], inValue: false };
  handle.onread = onWasmRead;
  socket.once("close", () => wasm.llhttp_free(pointer));
}

const server = createServer({ noDelay: true }, (client) => readWith(client, "request", new Pair(client)));
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
