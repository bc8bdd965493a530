// The components line of `sluice status`: what `sluice up` reported of its processes, after the
// services.
import t from "tap";
import { formatComponents, formatStatus } from "../../cli/commands/status.ts";
import type { ComponentStatus, StatusSnapshot } from "../../common/status.ts";

const at = "2025-01-01T15:03:04.000Z";
/** The local clock time, as sluice status prints it. */
const clock = new Date(at).toTimeString().slice(0, 8);

const running = (name: string, restarts = 0): ComponentStatus => ({
  name,
  state: "running",
  pid: 100,
  ports: { port: 1 },
  restarts,
  startedAt: at,
});

t.test("one line: each component's state, with its restarts and last exit when it has them", async (t) => {
  t.equal(
    formatComponents([
      { ...running("autoscaler", 1), lastExit: { code: "SIGKILL", at, ranForMs: 1000, lastLines: [] } },
      running("activator"),
      running("router"),
    ]),
    `components: autoscaler running (1 restart, last exit SIGKILL at ${clock}), activator running, router running`,
  );
  t.equal(
    formatComponents([
      {
        ...running("router", 4),
        state: "failed",
        lastExit: { code: "1", at, ranForMs: 10, lastLines: ["EADDRINUSE"] },
      },
    ]),
    `components: router failed (4 restarts, last exit 1 at ${clock})`,
  );
});

t.test("formatStatus prints the line only when components were reported", async (t) => {
  const snapshot: StatusSnapshot = { time: 0, generation: 0, domain: "example.com", services: [] };
  t.equal(formatStatus(snapshot), "no services yet — sluice apply -f service.yaml\n");
  t.equal(
    formatStatus({ ...snapshot, components: [running("autoscaler")] }),
    "no services yet — sluice apply -f service.yaml\ncomponents: autoscaler running\n",
  );
});
