import { fork } from "node:child_process";
import t from "tap";
import { ROOT, watchChild } from "../helpers/processes.ts";

function run(t: Parameters<typeof watchChild>[0], mode: "reject" | "throw") {
  const child = fork(`${ROOT}test/fixtures/unhandled.ts`, [mode], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const messages: Record<string, unknown>[] = [];
  child.on("message", (message: Record<string, unknown>) => messages.push(message));
  return { ...watchChild(t, child), messages };
}

t.test("an unhandled rejection is logged and the process carries on", async (t) => {
  const { exited, output, messages } = run(t, "reject");
  t.equal(await exited, 0);
  t.same(messages, [{ type: "alive" }], "still running after the rejection");
  t.match(output(), /"level":50.*"msg":"unhandled rejection; carrying on"/);
  t.match(output(), /a tick went wrong/);
});

t.test("an uncaught exception is logged and the process stops with exit code 1", async (t) => {
  const { exited, output, messages } = run(t, "throw");
  t.equal(await exited, 1);
  t.same(messages, [{ type: "stopping", reason: "uncaught exception", exitCode: 1 }]);
  t.match(output(), /"level":60.*"msg":"uncaught exception; stopping"/);
  t.match(output(), /a bug/);
});
