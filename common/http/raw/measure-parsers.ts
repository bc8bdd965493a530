// The measurement behind the raw path's choice of llhttp build (node measure-parsers.ts): the same
// requests framed by node's own llhttp binding and by undici's llhttp WebAssembly build, each fed
// one request per call as a socket read would, headers and target delivered as strings both ways.
// This favours WebAssembly: on the raw path node's binding does not even need the JavaScript call
// per read (consume() lets it read the socket handle in C++), while WebAssembly must have every
// read copied into its memory from a 'data' event.
import { createRequire } from "node:module";
import { loadNodeParser } from "./node-parser.ts";

const require = createRequire(import.meta.url);
const N = Number(process.env.N ?? 300_000);
const request = Buffer.from(
  "GET /some/path?x=1 HTTP/1.1\r\nHost: serve.default.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n" +
    "X-Request-Id: 0123456789abcdef\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
);

function viaNodeBinding(): number {
  const binding = loadNodeParser();
  if ("problem" in binding) throw new Error(binding.problem);
  let seen = 0;
  const parser = binding.create(
    "request",
    {
      onHeaders() {},
      onHeadersComplete(_a, _b, headers, _m, url) {
        seen += (headers?.length ?? 0) + (url?.length ?? 0) > 0 ? 1 : 0;
        return 0;
      },
      onBody() {},
      onMessageComplete() {},
      onExecute() {},
    },
    16384,
  );
  for (let i = 0; i < N; i++) parser.execute(request);
  return seen;
}

function viaUndiciWasm(): number {
  const { TYPE } = require("undici/lib/llhttp/constants.js");
  let memory: WebAssembly.Memory;
  let url = "";
  let field = "";
  let headers: string[] = [];
  let seen = 0;
  const text = (at: number, len: number) => Buffer.from(memory.buffer, at, len).toString("latin1");
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(require("undici/lib/llhttp/llhttp_simd-wasm.js"));
  } catch {
    module = new WebAssembly.Module(require("undici/lib/llhttp/llhttp-wasm.js"));
  }
  const instance = new WebAssembly.Instance(module, {
    env: {
      wasm_on_url: (_p: number, at: number, len: number) => {
        url += text(at, len);
        return 0;
      },
      wasm_on_status: () => 0,
      wasm_on_message_begin: () => {
        url = "";
        headers = [];
        return 0;
      },
      wasm_on_header_field: (_p: number, at: number, len: number) => {
        field = text(at, len);
        return 0;
      },
      wasm_on_header_value: (_p: number, at: number, len: number) => {
        headers.push(field, text(at, len));
        return 0;
      },
      wasm_on_headers_complete: () => {
        if (headers.length + url.length > 0) seen++;
        return 0;
      },
      wasm_on_body: () => 0,
      wasm_on_message_complete: () => 0,
    },
  });
  const llhttp = instance.exports as Record<string, (...args: number[]) => number> & {
    memory: WebAssembly.Memory;
  };
  memory = llhttp.memory;
  const parser = llhttp.llhttp_alloc(TYPE.REQUEST);
  const at = llhttp.malloc(4096);
  for (let i = 0; i < N; i++) {
    new Uint8Array(memory.buffer, at, 4096).set(request);
    llhttp.llhttp_execute(parser, at, request.length);
  }
  return seen;
}

for (let round = 0; round < 3; round++) {
  for (const [name, run] of [
    ["node binding (execute)", viaNodeBinding],
    ["undici wasm", viaUndiciWasm],
  ] as const) {
    const start = process.cpuUsage();
    const parsed = run();
    const used = process.cpuUsage(start);
    const us = (used.user + used.system) / N;
    console.log(
      `round ${round + 1}  ${name.padEnd(24)} ${us.toFixed(3)} µs CPU per request (${parsed} parsed)`,
    );
  }
}
