// A raw-path request's header lookups: header(name) finds one value as the header object would
// hold it, without making the object (the router reads Host and Sluice-Tag of every request).
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import t from "tap";
import { RawRequest } from "../../common/http/raw/raw-request.ts";
import { requestHeader } from "../../common/http/request-headers.ts";

const connection = { pauseReading() {}, resumeReading() {} };

function request(rawHeaders: string[]): RawRequest {
  return new RawRequest(connection, {} as Socket, "GET", "/", 1, 1, rawHeaders, true);
}

t.test("header(name) agrees with the headers object, before and after it is made", async (t) => {
  const raw = ["Host", "a.example", "HOST", "b.example", "Sluice-Tag", "v1", "X-Many", "1", "x-many", "2"];
  for (const made of [false, true]) {
    const req = request(raw);
    if (made) t.equal(req.headers.host, "a.example");
    t.equal(req.header("host"), "a.example", "the first Host");
    t.equal(req.header("sluice-tag"), "v1");
    t.equal(req.header("x-many"), "1, 2", "repeats joined");
    t.equal(req.header("x-none"), undefined);
    for (const name of ["host", "sluice-tag", "x-many", "x-none"])
      t.equal(req.header(name), req.headers[name], `${name} as the object has it`);
  }
});

t.test(
  "requestHeader reads a raw request without its header object, and a node:http one as is",
  async (t) => {
    const raw = request(["Host", "a.example", "TraceParent", "00-x", "Via", "1", "via", "2"]);
    t.equal(requestHeader(raw, "traceparent"), "00-x");
    t.equal(requestHeader(raw, "via"), "1, 2");
    t.equal(requestHeader(raw, "sluice-tag"), undefined);
    const node = {
      headers: { traceparent: "00-y", "set-cookie": ["a=1", "b=2"] },
    } as unknown as IncomingMessage;
    t.equal(requestHeader(node, "traceparent"), "00-y");
    t.equal(requestHeader(node, "set-cookie"), undefined, "an array (set-cookie) reads as absent");
    t.equal(requestHeader(node, "host"), undefined);
  },
);
