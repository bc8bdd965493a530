// The autoscaler API can start processes, so a web page must not be able to drive it: a foreign
// Host (DNS rebinding) is refused, a write without a YAML or JSON content type (what a cross-site
// form or a no-preflight fetch can send) is refused with 415, no answer carries CORS headers, and
// nothing refused is applied.
import t from "tap";
import { request } from "undici";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";

t.test(
  "the autoscaler API refuses foreign hosts and non-YAML/JSON writes, and applies nothing",
  async (t) => {
    const autoscaler = await startAutoscaler(t);
    const port = new URL(autoscaler.url).port;
    const manifest = (name: string) =>
      appService(name, { annotations: ['autoscaling.knative.dev/initial-scale: "0"'] });
    const call = async (
      method: "GET" | "PUT" | "POST" | "OPTIONS",
      path: string,
      headers: Record<string, string>,
      body?: string,
    ) => {
      const res = await request(`${autoscaler.url}${path}`, { method, headers, body });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    };
    type Listed = {
      name?: string;
      metadata?: { name?: string };
      manifest?: { metadata?: { name?: string } };
    };
    const serviceNames = async () => {
      const res = await call("GET", "/v1/services", { host: `127.0.0.1:${port}` });
      const { services = [] } = JSON.parse(res.text) as { services?: Listed[] };
      return services.map((s) => s.manifest?.metadata?.name ?? s.metadata?.name ?? s.name);
    };

    for (const host of [
      "evil.example.com",
      `evil.example.com:${port}`,
      "127.0.0.1.nip.io",
      "localhost.evil.example",
    ]) {
      const read = await call("GET", "/v1/services", { host });
      t.ok(read.status >= 400 && read.status < 500, `GET with Host ${host} → 4xx (got ${read.status})`);
      const write = await call(
        "PUT",
        "/v1/services",
        { host, "content-type": "application/yaml" },
        manifest("from-foreign-host"),
      );
      t.ok(write.status >= 400 && write.status < 500, `PUT with Host ${host} → 4xx (got ${write.status})`);
    }

    const local = { host: `127.0.0.1:${port}` };
    for (const type of [
      "text/plain",
      "text/plain; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await call(
        "PUT",
        "/v1/services",
        { ...local, "content-type": type },
        manifest("from-text-plain"),
      );
      t.equal(res.status, 415, `PUT with Content-Type ${type} → 415`);
    }
    const none = await call("PUT", "/v1/services", local, manifest("from-no-type"));
    t.equal(none.status, 415, "PUT without a Content-Type → 415");

    // A browser's preflight and a cross-origin request get no CORS grant.
    const preflight = await call("OPTIONS", "/v1/services", {
      ...local,
      origin: "https://evil.example.com",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type",
    });
    t.notOk(
      preflight.status >= 200 && preflight.status < 300,
      `a CORS preflight is not granted (got ${preflight.status})`,
    );
    const crossOrigin = await call("GET", "/v1/services", { ...local, origin: "https://evil.example.com" });
    for (const res of [preflight, crossOrigin])
      t.same(
        Object.keys(res.headers).filter((name) => name.startsWith("access-control-")),
        [],
        "no Access-Control-* header in the answer",
      );

    t.same(await serviceNames(), [], "nothing refused was applied");

    // The same manifest with a YAML content type and a loopback Host is applied.
    const accepted = await call(
      "PUT",
      "/v1/services",
      { ...local, "content-type": "application/yaml" },
      manifest("accepted"),
    );
    t.equal(accepted.status, 200, "PUT with application/yaml from a loopback Host → 200");
    t.same(await serviceNames(), ["accepted"], "and only that one is applied");
  },
);
