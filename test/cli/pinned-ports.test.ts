import t from "tap";
import { pinnedPortsEnv } from "../../cli/up/pinned-ports.ts";

t.test("a restart listens on the ports the first run reported", async (t) => {
  t.same(
    pinnedPortsEnv(
      { port: "ROUTER_PORT", adminPort: "ROUTER_ADMIN_PORT", tlsPort: "ROUTER_TLS_PORT" },
      { port: 41000, adminPort: 41001 },
    ),
    { ROUTER_PORT: "41000", ROUTER_ADMIN_PORT: "41001" },
    "no TLS port reported: ROUTER_TLS_PORT stays as it was",
  );
  t.same(pinnedPortsEnv({ port: "AUTOSCALER_PORT" }, { port: 0 }), {}, "0 is not a port to pin");
  t.same(pinnedPortsEnv({}, { port: 8090 }), {}, "ports without a variable are not pinned");
});
