import t from "tap";
import { hostAllowed, hostnameOf, isLoopbackName } from "../../autoscaler/allowed-host.ts";
import { type GuardedRequest, guardRequest } from "../../autoscaler/api-guard.ts";
import { bearerMatches } from "../../autoscaler/bearer-token.ts";

const req = (
  method: string,
  path: string,
  headers: GuardedRequest["headers"] = { host: "127.0.0.1:8090" },
): GuardedRequest => ({ method, path, headers });

t.test("hostnameOf: names, addresses, ports; malformed is undefined", async (t) => {
  t.equal(hostnameOf("localhost:8090"), "localhost");
  t.equal(hostnameOf("LocalHost"), "localhost");
  t.equal(hostnameOf("[::1]:8090"), "::1");
  t.equal(hostnameOf("[::1]"), "::1");
  t.equal(hostnameOf("127.0.0.1"), "127.0.0.1");
  for (const bad of ["", "evil.example@127.0.0.1", "127.0.0.1/x", "a b", "::1", "127.0.0.1:port"])
    t.equal(hostnameOf(bad), undefined, JSON.stringify(bad));
});

t.test("loopback names", async (t) => {
  for (const name of ["localhost", "127.0.0.1", "127.1.2.3", "::1"]) t.ok(isLoopbackName(name), name);
  for (const name of ["0.0.0.0", "::", "10.0.0.1", "127.evil.example", "localhost.evil.example", "128.0.0.1"])
    t.notOk(isLoopbackName(name), name);
});

t.test("hostAllowed: loopback always, configured names with any port, * for any", async (t) => {
  for (const host of ["localhost", "localhost:8090", "127.0.0.1:8090", "127.0.0.5", "[::1]:8090", "[::1]"])
    t.ok(hostAllowed(host, []), host);
  for (const host of [undefined, "", "evil.example:8090", "evil.example", "127.0.0.1.nip.io:8090"])
    t.notOk(hostAllowed(host, []), String(host));
  t.ok(hostAllowed("sluice-autoscaler.sluice:8090", ["sluice-autoscaler.sluice"]));
  t.ok(hostAllowed("SLUICE-AUTOSCALER.sluice", ["sluice-autoscaler.sluice"]));
  t.notOk(hostAllowed("evil.example:8090", ["sluice-autoscaler.sluice"]));
  t.ok(hostAllowed("10.1.2.3:8090", ["*"]));
  t.notOk(hostAllowed("evil.example@x", ["*"]), "malformed stays refused");
});

t.test("bearerMatches: exact token only", async (t) => {
  t.ok(bearerMatches("Bearer s3cret", "s3cret"));
  t.ok(bearerMatches("bearer s3cret", "s3cret"), "scheme is case-insensitive");
  for (const header of [
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "Bearer s3cre",
    "Bearer s3cret2",
    "Basic s3cret",
    "s3cret",
  ])
    t.notOk(bearerMatches(header, "s3cret"), String(header));
});

t.test("guardRequest: foreign Host refused, with a message", async (t) => {
  for (const method of ["GET", "PUT"]) {
    const refusal = guardRequest(req(method, "/v1/services", { host: "evil.example:8090" }), {
      allowedHosts: [],
    });
    t.equal(refusal?.status, 403);
    t.match(refusal?.message, /refusing Host "evil\.example:8090".*AUTOSCALER_ALLOWED_HOSTS/);
  }
  t.equal(
    guardRequest(req("GET", "/v1/state", { host: "auto.sluice" }), { allowedHosts: ["auto.sluice"] }),
    undefined,
  );
  t.equal(
    guardRequest(req("GET", "/healthz", { host: "10.0.0.7:8090" }), { allowedHosts: [] }),
    undefined,
    "probes",
  );
  t.equal(guardRequest(req("GET", "/readyz", {}), { allowedHosts: [], token: "x" }), undefined, "probes");
});

t.test("guardRequest: OPTIONS is refused without CORS headers", async (t) => {
  const refusal = guardRequest(req("OPTIONS", "/v1/services"), { allowedHosts: [] });
  t.equal(refusal?.status, 405);
  t.notOk(
    Object.keys(refusal?.headers ?? {}).some((name) => name.toLowerCase().startsWith("access-control-")),
  );
});

t.test("guardRequest: content types of writes", async (t) => {
  const put = (type?: string) =>
    guardRequest(req("PUT", "/v1/services", { host: "localhost", "content-type": type }), {
      allowedHosts: [],
    });
  for (const type of [
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "application/json",
    "Application/JSON; charset=utf-8",
  ])
    t.equal(put(type), undefined, type);
  for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
    const refusal = put(type);
    t.equal(refusal?.status, 415, String(type));
    t.match(
      refusal?.message,
      /takes Content-Type application\/yaml, application\/x-yaml, text\/yaml, application\/json; got/,
    );
  }
  const stats = (type: string) =>
    guardRequest(req("POST", "/v1/stats", { host: "localhost", "content-type": type }), { allowedHosts: [] });
  t.equal(stats("application/json"), undefined);
  t.equal(stats("text/plain")?.status, 415);
  t.equal(stats("application/yaml")?.status, 415, "stats are JSON only");
  t.equal(guardRequest(req("GET", "/v1/services"), { allowedHosts: [] }), undefined, "reads need none");
});

t.test("guardRequest: token", async (t) => {
  const options = { allowedHosts: [], token: "s3cret" };
  const missing = guardRequest(req("GET", "/v1/state"), options);
  t.equal(missing?.status, 401);
  t.match(missing?.headers?.["www-authenticate"], /^Bearer realm="sluice"$/);
  const wrong = guardRequest(
    req("GET", "/v1/state", { host: "localhost", authorization: "Bearer nope" }),
    options,
  );
  t.equal(wrong?.status, 401);
  t.match(wrong?.headers?.["www-authenticate"], /error="invalid_token"/);
  t.equal(
    guardRequest(req("GET", "/v1/state", { host: "localhost", authorization: "Bearer s3cret" }), options),
    undefined,
  );
  t.equal(guardRequest(req("GET", "/metrics"), options)?.status, 401, "metrics too");
  t.equal(guardRequest(req("GET", "/"), options), undefined, "the status page's files need none");
  t.equal(guardRequest(req("GET", "/status-page/app.js"), options), undefined);
  t.equal(
    guardRequest(req("PUT", "/v1/services", { host: "localhost", "content-type": "text/plain" }), options)
      ?.status,
    401,
    "no token: refused before anything else is said",
  );
});
