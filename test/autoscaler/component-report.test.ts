import t from "tap";
import { parseComponentReport } from "../../autoscaler/component-report.ts";
import type { ComponentStatus } from "../../common/status.ts";

const autoscaler: ComponentStatus = {
  name: "autoscaler",
  state: "running",
  pid: 4242,
  ports: { port: 8090 },
  restarts: 1,
  startedAt: "2025-01-01T15:03:05.000Z",
  lastExit: {
    code: "SIGKILL",
    at: "2025-01-01T15:03:04.500Z",
    ranForMs: 61_000,
    lastLines: ["autoscaler listening"],
  },
};
const router: ComponentStatus = {
  name: "router",
  state: "restarting",
  ports: { port: 8080, adminPort: 40001 },
  restarts: 0,
  startedAt: "2025-01-01T15:00:00.000Z",
};

/** The report with one field of its first component replaced (undefined: left out). */
const withField = (field: string, value: unknown) => ({
  components: [{ ...autoscaler, [field]: value }],
});

t.test("accepts a well-formed report: pid and lastExit may be absent", async (t) => {
  t.same(parseComponentReport({ components: [autoscaler, router] }), [autoscaler, router]);
  t.same(parseComponentReport({ components: [] }), [], "an empty report");
});

t.test("keeps the known fields only", async (t) => {
  const parsed = parseComponentReport({
    components: [{ ...router, secret: "x", lastExit: { ...autoscaler.lastExit, extra: 1 } }],
  });
  t.same(parsed, [{ ...router, lastExit: autoscaler.lastExit }]);
  t.notOk("secret" in (parsed as ComponentStatus[])[0]);
  t.notOk("extra" in ((parsed as ComponentStatus[])[0].lastExit ?? {}));
});

t.test("names the first problem and its path", async (t) => {
  const cases: [unknown, string][] = [
    [null, "body: expected a JSON object"],
    [[autoscaler], "body: expected a JSON object"],
    [{}, "components: expected an array"],
    [{ components: {} }, "components: expected an array"],
    [{ components: [router, 3] }, "components[1]: expected an object"],
    [withField("name", ""), "components[0].name: expected a non-empty string"],
    [withField("state", "dead"), "components[0].state: expected one of running, restarting, failed, stopped"],
    [withField("pid", 0), "components[0].pid: expected a process id (an integer > 0) or no pid"],
    [withField("pid", "12"), "components[0].pid: expected a process id (an integer > 0) or no pid"],
    [withField("ports", [8080]), "components[0].ports: expected an object of port numbers"],
    [withField("ports", { port: 70000 }), "components[0].ports.port: expected a port number (0–65535)"],
    [withField("restarts", -1), "components[0].restarts: expected an integer >= 0"],
    [withField("restarts", 1.5), "components[0].restarts: expected an integer >= 0"],
    [withField("restarts", undefined), "components[0].restarts: expected an integer >= 0"],
    [withField("startedAt", "yesterday"), "components[0].startedAt: expected an ISO 8601 time"],
    [withField("lastExit", "SIGKILL"), "components[0].lastExit: expected an object or no lastExit"],
    [
      withField("lastExit", { ...autoscaler.lastExit, code: 137 }),
      "components[0].lastExit.code: expected an exit code or signal name as a string",
    ],
    [
      withField("lastExit", { ...autoscaler.lastExit, at: 5 }),
      "components[0].lastExit.at: expected an ISO 8601 time",
    ],
    [
      withField("lastExit", { ...autoscaler.lastExit, ranForMs: -5 }),
      "components[0].lastExit.ranForMs: expected a number >= 0",
    ],
    [
      withField("lastExit", { ...autoscaler.lastExit, lastLines: ["ok", null] }),
      "components[0].lastExit.lastLines[1]: expected a string",
    ],
    [
      { components: [router, { ...autoscaler, name: "router" }] },
      'components[1].name: "router" appears twice',
    ],
  ];
  for (const [body, problem] of cases) t.equal(parseComponentReport(body), problem, problem);
});
