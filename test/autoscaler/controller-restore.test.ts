// Which stored services run after a restart: AUTOSCALER_RESTORE=none marks them all inactive
// (history kept); active (a supervised restart) runs those that were active, and only those.
import t from "tap";
import { appService } from "../helpers/autoscaler.ts";
import { startController } from "../helpers/controller.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { taggedTraffic } from "../helpers/service-yaml.ts";

async function start(t: { teardown(fn: () => unknown): void }, dir: string, restore = "active") {
  const started = await startController(t, dir, { env: { AUTOSCALER_RESTORE: restore } });
  const summary = () =>
    started.controller
      .services()
      .map(
        (s) => `${s.manifest.metadata.name} ${s.active ? "active" : "inactive"}: ${s.revisions.join(", ")}`,
      );
  return { ...started, summary };
}

t.test("none, then a applied; a supervised restart (active) runs a only", async (t) => {
  const dir = tempStateDir(t, "sluice-restore-");

  const yesterday = await start(t, dir);
  t.ok(yesterday.controller.apply(`${appService("a")}---\n${appService("b")}`, "ab.yaml").ok);

  const today = await start(t, dir, "none");
  t.same(today.summary(), ["a inactive: a-00001", "b inactive: b-00001"], "history kept, nothing runs");
  t.same([...today.platform.revisions.keys()], [], "no revision made known to the platform: nothing adopted");
  today.controller.publish();
  t.same(today.publisher.state.services, {});
  t.same(today.controller.inactiveServices(), [
    { namespace: "default", name: "a" },
    { namespace: "default", name: "b" },
  ]);

  t.ok(today.controller.apply(appService("a", { version: "v2" }), "a.yaml").ok);
  t.same(today.summary(), ["a active: a-00001, a-00002", "b inactive: b-00001"], "a's numbering continues");
  t.same([...today.platform.revisions.keys()].sort(), ["default/a-00001", "default/a-00002"]);
  today.controller.publish();
  t.same(Object.keys(today.publisher.state.services), ["default/a"]);
  t.same(Object.keys(today.publisher.state.revisions).sort(), ["default/a-00001", "default/a-00002"]);

  const restarted = await start(t, dir, "active");
  t.same(restarted.summary(), ["a active: a-00001, a-00002", "b inactive: b-00001"]);
  t.same([...restarted.platform.revisions.keys()].sort(), ["default/a-00001", "default/a-00002"]);

  // Applying b again brings it back, with its history.
  t.ok(restarted.controller.apply(appService("b"), "b.yaml").ok);
  t.same(restarted.summary(), ["a active: a-00001, a-00002", "b active: b-00001"]);
  t.same(restarted.controller.inactiveServices(), []);
});

t.test("an inactive service's hosts are free for others; it is checked again when re-applied", async (t) => {
  const dir = tempStateDir(t, "sluice-restore-");
  const yesterday = await start(t, dir);
  const tagged = `${appService("a")}${taggedTraffic("b")}`;
  t.ok(yesterday.controller.apply(tagged, "a.yaml").ok);

  const today = await start(t, dir, "none");
  const b = today.controller.apply(appService("b-a"), "b-a.yaml");
  t.ok(b.ok, `b-a may take b-a's host: a does not run (${b.problems.join("; ")})`);
  const back = today.controller.apply(tagged, "a.yaml");
  t.notOk(back.ok, "a, applied again, collides with b-a now");
});
