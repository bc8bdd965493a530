import type { IncomingMessage } from "node:http";
import t from "tap";
import { http1FramingProblem } from "../../common/http/http1-framing.ts";

/** Just the fields the check reads, as node's parser fills them. */
function request(version: string, rawHeaders: string[], extra: object = {}): IncomingMessage {
  const [major, minor] = version.split(".").map(Number);
  return {
    httpVersion: version,
    httpVersionMajor: major,
    httpVersionMinor: minor,
    rawHeaders,
    ...extra,
  } as unknown as IncomingMessage;
}

t.test("sound requests pass", async (t) => {
  t.equal(http1FramingProblem(request("1.1", ["Host", "a", "Transfer-Encoding", "chunked"])), undefined);
  t.equal(http1FramingProblem(request("1.0", ["Host", "a", "Content-Length", "3"])), undefined);
  t.equal(http1FramingProblem(request("1.1", [])), undefined, "no Host: the router's own check names it");
  t.equal(
    http1FramingProblem(request("2.0", [":authority", "a"], { stream: {} })),
    undefined,
    "a real HTTP/2 request (compat layer, with its stream)",
  );
});

t.test("what llhttp lets through but a proxy must refuse", async (t) => {
  t.match(http1FramingProblem(request("2.0", ["Host", "a"])), /HTTP\/2\.0 in an HTTP\/1 request line/);
  t.match(http1FramingProblem(request("0.9", [])), /unsupported HTTP version 0\.9/);
  t.match(http1FramingProblem(request("1.1", ["Host", "a", "host", "b"])), /more than one Host/);
  t.match(
    http1FramingProblem(request("1.0", ["Host", "a", "transfer-encoding", "chunked"])),
    /Transfer-Encoding in an HTTP\/1\.0 request/,
  );
});
