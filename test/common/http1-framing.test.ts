import type { IncomingMessage } from "node:http";
import t from "tap";
import { http1FramingProblem, requestProblem } from "../../common/http/http1-framing.ts";

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
    http1FramingProblem(request("2.0", [":authority", "a"], { stream: {}, headers: { ":authority": "a" } })),
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

t.test("an absolute-form target for the request's own host is brought to origin form", async (t) => {
  const cases: [string, string, string][] = [
    ["http://svc.example/x?y=1", "svc.example", "/x?y=1"],
    ["HTTP://SVC.Example:80/x", "svc.example", "/x"],
    ["http://svc.example", "svc.example:80", "/"],
    ["http://svc.example?q", "svc.example", "/?q"],
    ["https://svc.example:443/a", "SVC.example", "/a"],
    ["http://svc.example:8080/a", "svc.example:8080", "/a"],
    ["http://[::1]:80/a", "[::1]", "/a"],
  ];
  for (const [url, host, origin] of cases) {
    const req = request("1.1", ["Host", host], { url, method: "GET", headers: { host } });
    t.equal(requestProblem(req), undefined, url);
    t.equal(req.url, origin, `${url} → ${origin}`);
  }
  const plain = request("1.1", ["Host", "a"], { url: "/p", method: "GET", headers: { host: "a" } });
  t.equal(requestProblem(plain), undefined);
  t.equal(plain.url, "/p", "origin form untouched");
});

t.test("an absolute-form target for another host, or no host, is refused naming both", async (t) => {
  const refused = (url: string, host: string | undefined, method = "GET") =>
    requestProblem(
      request("1.1", host === undefined ? [] : ["Host", host], {
        url,
        method,
        headers: host ? { host } : {},
      }),
    );
  t.equal(
    refused("http://evil.example/x", "svc.example"),
    'request target authority "evil.example" differs from Host "svc.example"',
  );
  t.match(refused("http://svc.example:8080/x", "svc.example"), /differs from Host/, "another port");
  t.match(refused("https://svc.example/x", "svc.example:80"), /differs from Host/, "https implies 443");
  t.match(refused("http://svc.example/x", undefined), /differs from Host ""/);
  t.match(refused("http://user@svc.example/x", "svc.example"), /carries user information/);
  t.match(refused("http:///x", "svc.example"), /names no host/);
  t.match(refused("ftp://svc.example/x", "svc.example"), /neither a path nor an http\(s\) URL/);
  t.match(refused("svc.example:80", "svc.example"), /neither a path nor an http\(s\) URL/);
});

t.test("the asterisk form is answered at the hop", async (t) => {
  const ask = (method: string) =>
    requestProblem(request("1.1", ["Host", "a"], { url: "*", method, headers: { host: "a" } }));
  t.match(ask("OPTIONS"), /OPTIONS \* asks about the server itself/);
  t.match(ask("GET"), /the target \* is for OPTIONS only, not GET/);
});

t.test("HTTP/2: a Host naming another host than :authority is malformed", async (t) => {
  const h2 = (headers: Record<string, string | string[]>, url = "/") =>
    request("2.0", [], { stream: {}, url, method: "GET", headers });
  t.equal(requestProblem(h2({ ":authority": "svc.example", ":scheme": "http" })), undefined);
  t.equal(
    requestProblem(h2({ ":authority": "svc.example", ":scheme": "http", host: "SVC.example:80" })),
    undefined,
    "the same host, case and implied port aside",
  );
  t.equal(
    requestProblem(h2({ ":authority": "svc.example", ":scheme": "http", host: "evil.example" })),
    'Host "evil.example" differs from :authority "svc.example"',
  );
  t.match(
    requestProblem(h2({ ":authority": "svc.example", ":scheme": "https", host: "svc.example:80" })),
    /differs from :authority/,
  );
  t.match(
    requestProblem(h2({ ":authority": "a", ":scheme": "http", host: ["a", "b"] })),
    /more than one Host/,
  );
  t.equal(requestProblem(h2({ host: "svc.example" })), undefined, "Host alone (no :authority) is fine");
  t.match(requestProblem(h2({ ":authority": "a" }, "*")), /OPTIONS only/, "the asterisk form too");
  const absolute = h2({ ":authority": "svc.example", ":scheme": "http" }, "http://svc.example/x");
  t.equal(requestProblem(absolute), undefined);
  t.equal(absolute.url, "/x", "an absolute :path, checked against :authority");
});
