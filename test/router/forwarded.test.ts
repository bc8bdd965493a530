import type { IncomingMessage } from "node:http";
import { connect as connectH2 } from "node:http2";
import t from "tap";
import { Agent, request } from "undici";
import { addForwardedHeaders } from "../../router/forwarded.ts";
import { parseTrustedProxies } from "../../router/trusted-proxies.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startApp } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";

const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;
const claims = [
  "X-Forwarded-For",
  "6.6.6.6",
  "X-Forwarded-Proto",
  "https",
  "X-Forwarded-Host",
  "evil.example",
  "X-Forwarded-Prefix",
  "/lb",
  "Forwarded",
  "for=6.6.6.6",
  "Accept",
  "*/*",
];

t.test("trusted proxies: addresses and CIDR ranges, IPv4 and IPv6, mapped IPv4", async (t) => {
  const { proxies, problems } = parseTrustedProxies("10.0.0.0/8, 192.168.1.7 fd00::/8,::1");
  t.same(problems, []);
  for (const address of ["10.1.2.3", "::ffff:10.9.9.9", "192.168.1.7", "fd12::1", "::1"])
    t.ok(proxies.trusts(address), `${address} trusted`);
  for (const address of ["11.0.0.1", "192.168.1.8", "fe80::1", "::2", "", "not-an-ip", undefined])
    t.notOk(proxies.trusts(address), `${address} not trusted`);
  t.notOk(parseTrustedProxies(undefined).proxies.trusts("127.0.0.1"), "default: nobody");
  t.notOk(parseTrustedProxies("").proxies.trusts("127.0.0.1"));
  t.same(parseTrustedProxies("10.0.0.0/33, example.com, 1.2.3.4/8/1, ::1/129").problems.length, 4);
});

t.test("an untrusted peer's X-Forwarded-* are replaced by what the router saw", async (t) => {
  const out = [...claims];
  addForwardedHeaders(out, from("203.0.113.5"), "http", "hello.example.com", "/hello");
  t.same(out, [
    "Accept",
    "*/*",
    "x-forwarded-for",
    "203.0.113.5",
    "x-forwarded-proto",
    "http",
    "x-forwarded-host",
    "hello.example.com",
    "x-forwarded-prefix",
    "/hello",
  ]);
  const plain = ["Accept", "*/*"];
  addForwardedHeaders(plain, from("203.0.113.5"), "https", undefined, undefined);
  t.same(plain, ["Accept", "*/*", "x-forwarded-for", "203.0.113.5", "x-forwarded-proto", "https"]);
});

t.test("a trusted peer's are kept: For appended, Proto and Host as they were, prefixes joined", async (t) => {
  const { proxies } = parseTrustedProxies("10.0.0.0/8");
  const out = [...claims];
  addForwardedHeaders(out, from("10.0.0.2"), "http", "hello.example.com", "/hello", proxies);
  t.same(out, [
    "X-Forwarded-For",
    "6.6.6.6, 10.0.0.2",
    "X-Forwarded-Proto",
    "https",
    "X-Forwarded-Host",
    "evil.example",
    "X-Forwarded-Prefix",
    "/lb/hello",
    "Forwarded",
    "for=6.6.6.6",
    "Accept",
    "*/*",
  ]);
  const bare: string[] = [];
  addForwardedHeaders(bare, from("10.0.0.2"), "http", "h", undefined, proxies);
  t.same(bare, ["x-forwarded-for", "10.0.0.2", "x-forwarded-proto", "http", "x-forwarded-host", "h"]);
});

t.test("through a router: replaced by default, appended from ROUTER_TRUSTED_PROXIES", async (t) => {
  const app = await startApp(t, { K_REVISION: "fwd-00001" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("fwd", [{ revision: "fwd-00001", percent: 100 }])],
      [revisionState("fwd-00001", "fwd", { endpoints: [{ pod: "p", url: app.url }] })],
    ),
  );
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const seenThrough = async (url: string) => {
    const res = await request(`${url}/fwd/headers`, {
      dispatcher,
      headers: {
        host: "127.0.0.1",
        "x-forwarded-for": "6.6.6.6",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "evil.example",
        "x-forwarded-prefix": "/lb",
        forwarded: "for=6.6.6.6",
      },
    });
    return ((await res.body.json()) as { headers: Record<string, string> }).headers;
  };
  // h2c (prior knowledge) to the same port: the router sees the client's address there too.
  const seenOverH2c = async (url: string, extra: Record<string, string> = {}) => {
    const session = connectH2(url);
    t.teardown(() => session.close());
    const stream = session.request({ ":path": "/fwd/headers", ":authority": "127.0.0.1", ...extra });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    await new Promise((resolve, reject) => stream.on("end", resolve).on("error", reject));
    session.close();
    return (JSON.parse(body) as { headers: Record<string, string> }).headers;
  };
  const untrusting = await startRouter(t, fake.url);
  const replaced = await seenThrough(untrusting.url);
  t.equal(replaced["x-forwarded-for"], "127.0.0.1");
  t.equal(replaced["x-forwarded-proto"], "http");
  t.equal(replaced["x-forwarded-host"], "127.0.0.1");
  t.equal(replaced["x-forwarded-prefix"], "/fwd");
  t.equal(replaced.forwarded, undefined);
  const overH2c = await seenOverH2c(untrusting.url, { "x-forwarded-for": "6.6.6.6" });
  t.equal(overH2c["x-forwarded-for"], "127.0.0.1", "h2c: the client's address, its claim replaced");

  const trusting = await startRouter(t, fake.url, { ROUTER_TRUSTED_PROXIES: "127.0.0.0/8, ::1" });
  const kept = await seenThrough(trusting.url);
  t.equal(kept["x-forwarded-for"], "6.6.6.6, 127.0.0.1");
  t.equal(kept["x-forwarded-proto"], "https");
  t.equal(kept["x-forwarded-host"], "evil.example");
  t.equal(kept["x-forwarded-prefix"], "/lb/fwd");
  t.equal(kept.forwarded, "for=6.6.6.6");
  const keptOverH2c = await seenOverH2c(trusting.url, { "x-forwarded-for": "6.6.6.6" });
  t.equal(keptOverH2c["x-forwarded-for"], "6.6.6.6, 127.0.0.1", "h2c: a trusted peer's list appended to");
  t.equal(
    (await seenOverH2c(trusting.url))["x-forwarded-for"],
    "127.0.0.1",
    "h2c: the trusted peer's own address when it sent none",
  );
});
