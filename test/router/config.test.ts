import t from "tap";
import { loadConfig } from "../../router/config.ts";

t.test("hardened defaults: no Sluice-Tag routing, no trusted proxies, no hop secret", async (t) => {
  const config = loadConfig({});
  t.equal(config.tagHeaderRouting, false);
  t.equal(config.trustedProxies.trusts("127.0.0.1"), false);
  t.equal(config.hopSecret, undefined);
});

t.test("ROUTER_TAG_HEADER_ROUTING, ROUTER_TRUSTED_PROXIES and SLUICE_HOP_SECRET", async (t) => {
  const config = loadConfig({
    ROUTER_TAG_HEADER_ROUTING: "true",
    ROUTER_TRUSTED_PROXIES: "10.0.0.0/8",
    SLUICE_HOP_SECRET: "0123456789abcdef",
  });
  t.equal(config.tagHeaderRouting, true);
  t.ok(config.trustedProxies.trusts("10.2.3.4"));
  t.equal(config.hopSecret, "0123456789abcdef");
  t.throws(
    () => loadConfig({ ROUTER_TRUSTED_PROXIES: "10.0.0.0/40, proxy.local", SLUICE_HOP_SECRET: "short" }),
    /ROUTER_TRUSTED_PROXIES: "10\.0\.0\.0\/40" is not an IP address[\s\S]*"proxy\.local"[\s\S]*SLUICE_HOP_SECRET: at least 16/,
  );
});
