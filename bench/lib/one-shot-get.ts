// The cold burst's client: each request a GET on a connection of its own, sent with
// `Connection: close` and read to the end. Written by hand on purpose: the bench shares the
// 2-core machine with sluice, and undici's 300 requests cost the bench process ~0.3 s of CPU just
// when the burst's pods start, which showed up in every latency it measured (p99 over 4 runs
// each, same code: 1312–1519 ms through undici, 1233–1334 ms with this). As wrk does for the
// serve rows, the load costs as little as it can. The server ends each response by closing, so
// no framing is needed: the status comes from the status line, and a Content-Length, when given,
// must match what arrived.
import { connect } from "node:net";

export interface OneShotAnswer {
  status: number;
  /** The body as sent (chunked framing, if any, left in). */
  body: string;
}

const HEAD_END = "\r\n\r\n";
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*$/im;

/** GET `path` from 127.0.0.1:`port` with `host`; rejects when no whole response arrives in `timeoutMs`. */
export function oneShotGet(
  port: number,
  host: string,
  path = "/",
  timeoutMs = 60_000,
): Promise<OneShotAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: "127.0.0.1" }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no whole response in ${timeoutMs} ms`)));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("end", () => {
      socket.destroy();
      try {
        resolve(parseClosedResponse(Buffer.concat(chunks).toString("latin1")));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** A response that ended with its connection: status and body, or an error naming what is wrong. */
export function parseClosedResponse(text: string): OneShotAnswer {
  const headEnd = text.indexOf(HEAD_END);
  if (headEnd < 0)
    throw new Error(`the connection closed before the response head ended (${text.length} bytes)`);
  const head = text.slice(0, headEnd);
  const status = STATUS_LINE.exec(head);
  if (!status) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(head.split("\r\n")[0])}`);
  const body = text.slice(headEnd + HEAD_END.length);
  const length = CONTENT_LENGTH.exec(head);
  if (length && Number(length[1]) !== body.length)
    throw new Error(`the body is ${body.length} bytes; content-length said ${length[1]}`);
  return { status: Number(status[1]), body };
}
