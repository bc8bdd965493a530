import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pino } from "pino";
import t from "tap";
import { fields, LEVELS, simpleLine } from "../../common/log-line.ts";
import { ROOT } from "../helpers/processes.ts";

const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');

/** What pino itself writes for `args`, with the options createLogger gives it and `child` bindings. */
function pinoLine(args: unknown[], child?: Record<string, unknown>): string {
  const lines: string[] = [];
  let log = pino(
    { name: "queue-proxy", level: "trace", base: { component: "queue-proxy", pid: 42 } },
    { write: (line: string) => lines.push(line) },
  );
  if (child) log = log.child(child);
  (log.warn as (...args: unknown[]) => void)(...args);
  return withoutTime(lines.join(""));
}

const base = fields({ component: "queue-proxy", pid: 42, name: "queue-proxy" }) as string;

t.test("the simple calls come out as pino writes them", async (t) => {
  const cases: [unknown[], Record<string, unknown>?][] = [
    [["queue-proxy listening"]],
    [
      [
        { servingPort: 8012, adminPort: 9000, metricsPort: undefined, userPort: 8080 },
        "queue-proxy listening",
      ],
    ],
    [[{ ready: true }, "app is ready"], { revision: "hello-00001", pod: "hello-00001-abc" }],
    [[{ draining: false, inFlight: 0, queued: 0 }, "drain"], { revision: "r", pod: undefined }],
    [
      [
        { odd: 'quote " back \\ tab \t nl \n é 😀', none: null, inf: Number.POSITIVE_INFINITY, neg: -0.5 },
        "x",
      ],
    ],
    [[{ 'key with "quote"': 1 }, 'message with "quotes" and \\ and \u0001']],
    [["a string longer than a hundred characters ".repeat(4)]],
    [[{}, ""]],
  ];
  for (const [args, child] of cases) {
    const bindings = child ? `${base}${fields(child)}` : base;
    t.equal(
      withoutTime(simpleLine(LEVELS.warn, 0, bindings, args) as string),
      pinoLine(args, child),
      String(args.at(-1)),
    );
  }
});

t.test("anything else is left to pino", async (t) => {
  const others: unknown[][] = [
    [new Error("boom")],
    [{ err: new Error("boom") }, "failed"],
    [{ err: "text" }, "failed"],
    [{ msg: "in the object" }, "and the argument"],
    [{ nested: { a: 1 } }, "nested"],
    [{ list: [1, 2] }, "list"],
    [{ setHeader() {} }, "a response"],
    [{ lone: "\ud800" }, "lone surrogate"],
    ["format %s", "argument"],
    [{ a: 1 }],
    [42],
    [Object.create(null), "no prototype"],
  ];
  for (const args of others) t.equal(simpleLine(LEVELS.warn, 0, base, args), undefined, String(args.at(-1)));
  t.equal(fields({ a: new Date(0) }), undefined, "a Date is pino's to write");
});

t.test("createLogger writes the simple lines itself and loads pino for the first other one", async (t) => {
  // A separate process: whether pino is loaded is per process (here, required from node_modules).
  const script = `
    const { createLogger } = await import(${JSON.stringify(join(ROOT, "common/log.ts"))});
    const { createRequire } = await import("node:module");
    const cache = createRequire(import.meta.url).cache;
    const loaded = () => Object.keys(cache).some((path) => path.includes("/node_modules/pino/"));
    const log = createLogger("queue-proxy", "info").child({ revision: "r-1", pod: "p" });
    log.debug({ hidden: true }, "below the level");
    log.info({ servingPort: 1 }, "queue-proxy listening");
    log.warn("still simple");
    console.error(JSON.stringify({ loadedBefore: loaded(), enabled: log.isLevelEnabled("debug") }));
    log.error({ err: new Error("boom") }, "failed");
    log.info({ after: 1 }, "after pino");
    console.error(JSON.stringify({ loadedAfter: loaded() }));
  `;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "" },
  });
  t.equal(run.status, 0, run.stderr);
  const status = run.stderr
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  t.same(status, [{ loadedBefore: false, enabled: false }, { loadedAfter: true }]);
  const lines = run.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  t.same(
    lines.map(({ level, component, name, revision, pod, msg }) => ({
      level,
      component,
      name,
      revision,
      pod,
      msg,
    })),
    [30, 40, 50, 30].map((level, i) => ({
      level,
      component: "queue-proxy",
      name: "queue-proxy",
      revision: "r-1",
      pod: "p",
      msg: ["queue-proxy listening", "still simple", "failed", "after pino"][i],
    })),
  );
  t.equal(lines[2].err.message, "boom", "the Error through pino's serializer");
  t.equal(lines[2].err.type, "Error");
  t.equal(lines[0].servingPort, 1);
  for (const line of lines) t.equal(typeof line.time, "number");
});

t.test("LOG_LEVEL in a component's configuration: info when unset or empty, a problem named", async (t) => {
  const { readLogLevel } = await import("../../common/log.ts");
  const { ConfigError, EnvReader } = await import("../../common/env.ts");
  const read = (value: string | undefined) => {
    const env = new EnvReader("x", { LOG_LEVEL: value });
    const level = readLogLevel(env);
    env.finish();
    return level;
  };
  t.equal(read(undefined), "info");
  t.equal(read(""), "info");
  for (const level of ["trace", "debug", "info", "warn", "error", "fatal", "silent"])
    t.equal(read(level), level);
  for (const bad of ["loud", "INFO", "toString"])
    t.throws(
      () => read(bad),
      new ConfigError("x", [
        `LOG_LEVEL=${JSON.stringify(bad)}: expected one of trace, debug, info, warn, error, fatal, silent`,
      ]),
    );
});

t.test("an unknown level given in code is pino's error, at once", async (t) => {
  const { createLogger } = await import("../../common/log.ts");
  t.throws(() => createLogger("x", "loud"), /default level:loud must be included in custom levels/);
  t.equal(createLogger("x", "silent").isLevelEnabled("fatal"), false);
});
