// The technique's own floor: about the least a Node forwarder on raw sockets framed by llhttp does
// per request, with none of sluice's code. raw-forwarder.ts is sluice's raw path with nothing of
// the router; this is the same technique with nothing of sluice's raw path either (no request
// and response objects, no pool, no sweeps, one pass over the headers each way), so the pair says
// how much of the raw path's cost is its own code and how much is Node's. It is as lean as the
// experiment behind issue 13's goals: each client connection gets its own upstream connection,
// and each socket is written through its native handle.
//
// LLHTTP picks the parser: `node` (default), node's binding reading each socket in C++ and calling
// JavaScript per parser event and per read; or `wasm`, undici's WebAssembly build, fed from the
// handle's read callback (one JavaScript call per read, parser events as calls out of WebAssembly).
//
// It forwards only what the benchmark sends, and says so: requests without a body and not HEAD
// (others get 501), answers buffered whole and sent on with their length (fine for a small answer, not for
// streaming), fixed hop-by-hop headers dropped (as nginx does, not the names Connection lists).
// Node internals (process.binding's stream_wrap, _http_common), like the raw path itself.
//
// PORT (0 = any; reported over IPC when there is a channel), UPSTREAM_PORT (on 127.0.0.1), LLHTTP.
import { createRequire } from "node:module";
import { connect, createServer, type Socket } from "node:net";

const require = createRequire(import.meta.url);
const upstreamPort = Number(process.env.UPSTREAM_PORT);
if (!Number.isInteger(upstreamPort) || upstreamPort < 1 || upstreamPort > 65535)
  throw new Error(
    `llhttp-forwarder: UPSTREAM_PORT must be the app's port on 127.0.0.1, got ${JSON.stringify(process.env.UPSTREAM_PORT)}`,
  );
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
const streamWrap = (process as unknown as { binding(name: string): Record<string, unknown> }).binding(
  "stream_wrap",
) as {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
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
  /** Request heads written before the upstream connection was made. */
  waiting = "";
  answerHead = "";
  answerBody = "";

  constructor(client: Socket) {
    this.client = client;
    this.clientHandle = handleOf(client);
    client.on("error", () => this.close());
    client.on("close", () => this.close());
  }

  request(method: string, url: string, headers: readonly string[]): void {
    // A HEAD's answer announces a length whose body never comes.
    if (method === "HEAD") {
      this.#refuse();
      return;
    }
    let head = `${method} ${url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i].toLowerCase();
      if (name === "content-length" ? headers[i + 1] !== "0" : name === "transfer-encoding") {
        this.#refuse();
        return;
      }
      if (!HOP_BY_HOP.has(name)) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    head += "\r\n";
    if (this.upstreamHandle !== null) write(this.upstreamHandle, head);
    else if (this.upstream === null) this.#connect(head);
    else this.waiting += head;
  }

  answerStarted(status: number, headers: readonly string[]): void {
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i].toLowerCase();
      if (!HOP_BY_HOP.has(name) && name !== "content-length") head += `${name}: ${headers[i + 1]}\r\n`;
    }
    this.answerHead = head;
    this.answerBody = "";
  }

  answerBodyPart(text: string): void {
    this.answerBody += text;
  }

  answerEnded(): void {
    write(
      this.clientHandle,
      `${this.answerHead}content-length: ${this.answerBody.length}\r\n\r\n${this.answerBody}`,
    );
  }

  /** What a parser found wrong: the client gets 400 (its request) or 502 (the app's answer). */
  failed(side: "request" | "response"): void {
    const status = side === "request" ? "400 Bad Request" : "502 Bad Gateway";
    write(this.clientHandle, `HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    this.client.end();
    this.upstream?.destroy();
  }

  /** What this forwarder does not forward (see the top of the file). */
  #refuse(): void {
    write(
      this.clientHandle,
      "HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    this.client.end();
  }

  close(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  #connect(head: string): void {
    const upstream = connect({ port: upstreamPort, host: "127.0.0.1", noDelay: true });
    this.upstream = upstream;
    this.waiting = head;
    upstream.on("error", () => this.failed("response"));
    upstream.on("close", () => this.client.destroy());
    upstream.on("connect", () => {
      this.upstreamHandle = handleOf(upstream);
      readWith(upstream, "response", this);
      write(this.upstreamHandle, this.waiting);
      this.waiting = "";
    });
  }
}

const STATUS_TEXT = require("node:http").STATUS_CODES as Record<number, string>;

// ---- node's llhttp binding, reading the handle in C++ ----
interface NodeParser {
  initialize(kind: number, resource: object, maxHeaderSize: number, lenient: number): void;
  consume(handle: Handle): void;
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
  parser[HTTPParser.kOnHeaders] = ignore;
  if (side === "request") {
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[],
      method: number,
      url: string,
    ) => pair.request(common.methods[method], url, headers);
    parser[HTTPParser.kOnBody] = ignore;
    parser[HTTPParser.kOnMessageComplete] = ignore;
  } else {
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[],
      _method: number,
      _url: string,
      status: number,
    ) => pair.answerStarted(status, headers);
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => pair.answerBodyPart(latin1(chunk, 0, chunk.length));
    parser[HTTPParser.kOnMessageComplete] = () => pair.answerEnded();
  }
  // The one place node's binding reports a framing error: without it a bad request would hang.
  parser[HTTPParser.kOnExecute] = (result: unknown) => {
    if (result instanceof Error) pair.failed(side);
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
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, at: number, length: number): number;
  llhttp_get_method(parser: number): number;
}
const READ_BUFFER = 65536;
let llhttp: Llhttp | null = null;
/** llhttp's parser types (request, response), read from undici's constants with the module. */
let wasmTypes = { REQUEST: 0, RESPONSE: 0 };
let readAt = 0;
let memory = Buffer.alloc(0);
let parsing: WasmParser;

function wasmText(at: number, length: number): string {
  if (memory.buffer !== (llhttp as Llhttp).memory.buffer)
    memory = Buffer.from((llhttp as Llhttp).memory.buffer);
  return latin1(memory, at, at + length);
}

function loadWasm(): Llhttp {
  const { METHODS, TYPE } = require("undici/lib/llhttp/constants.js") as {
    METHODS: Record<string, number>;
    TYPE: { REQUEST: number; RESPONSE: number };
  };
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
            pair.request(
              methodNames[(llhttp as Llhttp).llhttp_get_method(pointer)],
              parsing.url,
              parsing.headers,
            );
          else pair.answerStarted(status, parsing.headers);
          return 0;
        },
        wasm_on_body: (_p: number, at: number, length: number) => {
          if (parsing.side === "response") parsing.pair.answerBodyPart(wasmText(at, length));
          return 0;
        },
        wasm_on_message_complete: () => {
          if (parsing.side === "response") parsing.pair.answerEnded();
          return 0;
        },
      },
    },
  );
  const exports = instance.exports as unknown as Llhttp;
  readAt = exports.malloc(READ_BUFFER);
  return exports;
}
function onWasmRead(this: Handle, buffer: ArrayBuffer): void {
  const parser = this.context as WasmParser;
  const length = state[streamWrap.kReadBytesOrError];
  if (length < 0) {
    parser.pair.close(); // EOF or a read error
    return;
  }
  const wasm = llhttp as Llhttp;
  new Uint8Array(wasm.memory.buffer, readAt, length).set(
    new Uint8Array(buffer, state[streamWrap.kArrayBufferOffset], length),
  );
  parsing = parser;
  if (wasm.llhttp_execute(parser.pointer, readAt, length) !== 0) parser.pair.failed(parser.side);
}

function readWith(socket: Socket, side: "request" | "response", pair: Pair): void {
  const handle = handleOf(socket);
  if (parserName === "node") {
    nodeParser(side, pair).consume(handle);
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
