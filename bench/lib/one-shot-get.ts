// The cold burst's client: each request a GET on a connection of its own, sent with
// `Connection: close`. Written by hand on purpose: the bench shares the 2-core machine with
// sluice, and undici's 300 requests cost the bench process ~0.3 s of CPU just when the burst's
// pods start, which showed up in every latency it measured (p99 over 4 runs each, same code:
// 1312–1519 ms through undici, 1233–1334 ms with this). As wrk does for the serve rows, the load
// costs as little as it can. A response is whole once its Content-Length has arrived, or, without
// one, when the server closes (the request asked it to): no framing parser is needed.
import { connect } from "node:net";

export interface OneShotAnswer {
  status: number;
  /** The body as sent (chunked framing, if any, left in). */
  body: string;
}

const HEAD_END = "\r\n\r\n";
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*$/im;

/**
 * GET `path` from 127.0.0.1:`port` with `host`. Resolves at the response's last byte; rejects when
 * no whole response arrived within `timeoutMs` of the call, or the connection ended first.
 */
export function oneShotGet(
  port: number,
  host: string,
  path = "/",
  timeoutMs = 60_000,
): Promise<OneShotAnswer> {
  return new Promise((resolve, reject) => {
    let received = "";
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const finish = (ended: boolean) => {
      if (settled) return;
      let answer: OneShotAnswer | undefined;
      try {
        answer = parseResponse(received, ended);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (answer === undefined) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const socket = connect({ port, host: "127.0.0.1" }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => fail(new Error(`no whole response in ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      finish(false);
    });
    socket.once("end", () => finish(true));
    socket.once("error", fail);
  });
}

/**
 * The response in `text` once it is whole: its head ended and its Content-Length arrived, or, at
 * the connection's end (`ended`), whatever came after the head. Undefined while it is not whole
 * yet; an error naming what is wrong when it never can be.
 */
export function parseResponse(text: string, ended: boolean): OneShotAnswer | undefined {
  const headEnd = text.indexOf(HEAD_END);
  if (headEnd < 0) {
    if (!ended) return undefined;
    throw new Error(`the connection closed before the response head ended (${text.length} bytes)`);
  }
  const head = text.slice(0, headEnd);
  const status = STATUS_LINE.exec(head);
  if (!status) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(head.split("\r\n")[0])}`);
  const body = text.slice(headEnd + HEAD_END.length);
  const length = CONTENT_LENGTH.exec(head);
  if (length !== null) {
    const expected = Number(length[1]);
    if (body.length > expected) throw new Error(`the body is over ${expected} bytes, its content-length`);
    if (body.length < expected) {
      if (!ended) return undefined;
      throw new Error(`the body is ${body.length} bytes; content-length said ${expected}`);
    }
  } else if (!ended) {
    return undefined;
  }
  return { status: Number(status[1]), body };
}
