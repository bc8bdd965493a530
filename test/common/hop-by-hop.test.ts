import t from "tap";
import { HopAuth } from "../../common/hop-auth.ts";
import {
  endToEndHeaderObject,
  endToEndRawHeaders,
  endToEndResponseHeaders,
  HOP_BY_HOP_NAMES,
} from "../../common/http/hop-by-hop.ts";
import { addHeaders } from "../../common/http/raw/header-object.ts";
import { scanRequestHeaders } from "../../common/http/request-headers.ts";
import { INTERNAL_HEADERS } from "../../common/internal-headers.ts";

const SECRET = "a-hop-secret-long-enough";
const auth = new HopAuth(SECRET);

t.test("endToEndRawHeaders drops hop-by-hop headers and those named in Connection", async (t) => {
  const raw = [
    "Host",
    "a",
    "Connection",
    "keep-alive, X-Secret",
    "Keep-Alive",
    "timeout=5",
    "X-Secret",
    "s",
    "Transfer-Encoding",
    "chunked",
    "Upgrade",
    "h2c",
    "Expect",
    "100-continue",
    "Trailer",
    "x-sum",
    "X-Ok",
    "1",
  ];
  t.same(endToEndRawHeaders(raw), ["Host", "a", "Trailer", "x-sum", "X-Ok", "1"]);
});

t.test("endToEndHeaderObject flattens arrays and filters", async (t) => {
  t.same(
    endToEndHeaderObject({
      "set-cookie": ["a=1", "b=2"],
      connection: "close, x-hop",
      "x-hop": "1",
      "keep-alive": "t",
      date: "d",
    }),
    ["set-cookie", "a=1", "set-cookie", "b=2", "date", "d"],
  );
});

t.test("endToEndResponseHeaders: undici's object's filtering and names, in the order received", async (t) => {
  const raw = [
    "Content-Type",
    "text/plain",
    "Set-Cookie",
    "a=1",
    "set-cookie",
    "b=2",
    "X-Hop",
    "1",
    "Content-Length",
    "12",
    "Date",
    "d",
    "Connection",
    "keep-alive, X-Hop",
    "Keep-Alive",
    "timeout=5",
    "Transfer-Encoding",
    "chunked",
    "X-Ok",
    "yes",
  ];
  const out = ["sluice-revision", "r"];
  t.equal(endToEndResponseHeaders(raw, out), "12", "the Content-Length value");
  t.same(out, [
    "sluice-revision",
    "r",
    "content-type",
    "text/plain",
    "set-cookie",
    "a=1",
    "set-cookie",
    "b=2",
    "content-length",
    "12",
    "date",
    "d",
    "x-ok",
    "yes",
  ]);
  // The node:http path's bytes from the same head: the same list wherever no name repeats apart.
  const object: Record<string, string | string[]> = {};
  addHeaders(object, raw);
  t.same(endToEndHeaderObject(object), out.slice(2));

  const plain: string[] = [];
  t.equal(endToEndResponseHeaders(["Connection", "close", "Date", "d"], plain), undefined);
  t.same(plain, ["date", "d"], "Connection: close names nothing");
});

t.test("addHeaders: names that are Object's own properties are ordinary headers", async (t) => {
  const out: Record<string, string | string[]> = {};
  addHeaders(out, ["Constructor", "a", "constructor", "b", "__proto__", "x", "toString", "c"]);
  t.same(out, { constructor: ["a", "b"], tostring: "c" });
  t.equal(Object.getPrototypeOf(out), Object.prototype, "__proto__ is dropped, not followed");
});

t.test("scanRequestHeaders learns the facts in one pass", async (t) => {
  const out: string[] = [];
  const facts = scanRequestHeaders(
    [
      "Host",
      "h",
      "Content-Length",
      "5",
      "K-Proxy-Request",
      "activator",
      "Sluice-Hop-Auth",
      SECRET,
      "TE",
      "trailers",
      "Connection",
      "close",
    ],
    out,
    auth,
  );
  t.same(facts, { hasBody: true, fromHop: true, networkProbe: undefined, proxied: true });
  t.same(
    out,
    ["Host", "h", "Content-Length", "5", "TE", "trailers"],
    "te: trailers kept for gRPC; internal headers never copied",
  );

  t.equal(scanRequestHeaders(["Content-Length", "0"], []).hasBody, false, "an empty body is no body");
  t.equal(scanRequestHeaders(["Transfer-Encoding", "chunked"], []).hasBody, true);
  t.equal(
    scanRequestHeaders(["K-Network-Probe", "queue", "sluice-hop-auth", SECRET], [], auth).networkProbe,
    "queue",
  );
  const te: string[] = [];
  scanRequestHeaders(["TE", "gzip"], te);
  t.same(te, [], "te other than trailers is dropped");
});

t.test("internal headers count only with the hop secret, and are dropped either way", async (t) => {
  const claims = ["K-Proxy-Request", "activator", "K-Network-Probe", "queue", "Sluice-Revision", "r-1"];
  const none = { hasBody: false, fromHop: false, networkProbe: undefined, proxied: false };
  const out: string[] = [];
  t.same(scanRequestHeaders([...claims, "x-a", "1"], out, auth), none, "no secret sent: nothing believed");
  t.same(out, ["x-a", "1"], "and nothing forwarded");
  t.same(
    scanRequestHeaders([...claims, "Sluice-Hop-Auth", "wrong-secret-guess!"], [], auth),
    none,
    "a wrong secret",
  );
  t.same(scanRequestHeaders([...claims, "Sluice-Hop-Auth", SECRET], []), none, "no secret configured: never");
  t.same(
    scanRequestHeaders([...claims, "Sluice-Hop-Auth", SECRET], [], new HopAuth(undefined)),
    none,
    "an auth without a secret verifies nothing",
  );
});

t.test("the internal headers", async (t) => {
  t.same(INTERNAL_HEADERS, ["sluice-revision", "k-proxy-request", "k-network-probe", "sluice-hop-auth"]);
});

t.test("HTTP/2 pseudo-headers are dropped and :authority becomes Host", async (t) => {
  const out: string[] = [];
  scanRequestHeaders(
    [":method", "POST", ":path", "/x", ":authority", "svc:80", ":scheme", "http", "x-a", "1"],
    out,
  );
  t.same(out, ["x-a", "1", "host", "svc:80"]);
  const withHost: string[] = [];
  scanRequestHeaders([":authority", "svc:80", "host", "other"], withHost);
  t.same(withHost, ["host", "svc:80"], ":authority wins over a Host sent with it (RFC 9113 §8.3.1)");
});

t.test("headers named in Connection are removed whatever their position", async (t) => {
  const out: string[] = [];
  scanRequestHeaders(["X-Early", "1", "Connection", "X-Early, x-late", "X-Late", "2", "X-Keep", "3"], out);
  t.same(out, ["X-Keep", "3"]);
});

t.test(
  "scanRequestHeaders acts on every name it knows in any case (its quick filter lets none by)",
  async (t) => {
    const known = [...HOP_BY_HOP_NAMES, ...INTERNAL_HEADERS, "content-length", "host"];
    for (const lower of known) {
      for (const name of [lower, lower.toUpperCase(), lower[0].toUpperCase() + lower.slice(1)]) {
        const asLower: string[] = [];
        const asSent: string[] = [];
        const value = lower === "connection" ? "x-y" : "1";
        const factsLower = scanRequestHeaders([lower, value, "x-y", "2"], asLower, auth);
        const factsSent = scanRequestHeaders([name, value, "x-y", "2"], asSent, auth);
        t.same(factsSent, factsLower, `${name}: the same facts`);
        t.same(
          asSent.filter((_, i) => i % 2 === 1),
          asLower.filter((_, i) => i % 2 === 1),
          `${name}: the same values copied`,
        );
      }
    }
  },
);
