// The activator's listener under its limits, and upgrades checked as requests are.
import t from "tap";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { headerTimeoutTest } from "../helpers/header-timeout.ts";
import { startProcess, TEST_HOP_SECRET } from "../helpers/processes.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { untilClosed, upgradeRequest } from "../helpers/upgrade-app.ts";

t.test("activator listener and upgrades", async (t) => {
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("act", [{ revision: "act-00001", percent: 100 }])],
      [
        revisionState("act-00001", "act", { mode: "proxy", timeoutSeconds: 1, desiredPods: 0 }),
        revisionState("lone-00001", "lone", { mode: "proxy" }), // no route sends traffic to it
      ],
    ),
  );
  const activator = await startProcess(t, "activator/main.ts", {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: fake.url,
    ACTIVATOR_HEADERS_TIMEOUT_SECONDS: "1",
    SLUICE_HOP_SECRET: TEST_HOP_SECRET,
  });
  const port = activator.message.port as number;
  const upgrade = async (revision: string, auth = true) => {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    const extra = `Sluice-Revision: default/${revision}\r\n${auth ? `Sluice-Hop-Auth: ${TEST_HOP_SECRET}\r\n` : ""}`;
    socket.write(upgradeRequest("x", "/", "websocket", extra));
    return done;
  };

  headerTimeoutTest(t, port, "PRI * HTTP/2.0\r\n\r\n", 1000);

  t.test("an upgrade not from the router is refused", async (t) => {
    t.match(await upgrade("act-00001", false), /^HTTP\/1\.1 403 [\s\S]*from the router only/);
  });

  t.test("an upgrade for an unknown or unreferenced revision is refused", async (t) => {
    t.match(await upgrade("nope-00001"), /^HTTP\/1\.1 404 [\s\S]*unknown revision default\/nope-00001/);
    t.match(
      await upgrade("lone-00001"),
      /^HTTP\/1\.1 404 [\s\S]*no route sends traffic to revision default\/lone-00001/,
    );
  });

  t.test("an upgrade for a revision that never gets a pod waits out its timeout", async (t) => {
    t.match(await upgrade("act-00001"), /^HTTP\/1\.1 503 [\s\S]*did not become ready within 1s/);
  });
});
