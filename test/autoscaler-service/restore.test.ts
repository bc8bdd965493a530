// AUTOSCALER_RESTORE=none (what `sluice up` uses on its first start): services an earlier run
// applied are kept for their history but do not run — their pods, even left running by a killed
// autoscaler, are stopped — until applied again; revision numbering continues.
import t from "tap";
import { request } from "undici";
import type { StatusSnapshot } from "../../common/status.ts";
import { appService } from "../helpers/autoscaler.ts";
import { isRunning, killAll, podPids, recordedPods, tempStateDir } from "../helpers/platform.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";

t.test(
  "restore none: an earlier run's services are inactive, their pods stopped, history kept",
  async (t) => {
    const stateDir = tempStateDir(t, "sluice-restore-");
    const env = { SLUICE_STATE_DIR: stateDir, AUTOSCALER_TICK_SECONDS: "0.25", AUTOSCALER_PORT: "0" };
    const api = (port: number) => {
      const url = `http://127.0.0.1:${port}`;
      const get = async <T>(path: string) => (await (await request(`${url}${path}`)).body.json()) as T;
      return {
        get,
        apply: async (body: string) => {
          const res = await request(`${url}/v1/services`, {
            method: "PUT",
            headers: { "content-type": "application/yaml" },
            body,
          });
          t.equal(res.statusCode, 200, await res.body.text());
        },
      };
    };

    // Yesterday: a and b applied, each with a pod (initial-scale 1); the autoscaler dies.
    const first = await startProcess(t, "autoscaler/main.ts", env);
    const yesterday = api(first.message.port as number);
    await yesterday.apply(`${appService("a")}---\n${appService("b")}`);
    t.teardown(() => killAll(podPids(recordedPods(stateDir)).filter(isRunning)));
    await waitFor("a pod each for a and b", async () => {
      const s = await yesterday.get<StatusSnapshot>("/v1/status");
      return s.services.length === 2 && s.services.every((svc) => svc.revisions[0]?.readyPods === 1);
    });
    const leftovers = recordedPods(stateDir);
    t.same(leftovers.map((r) => r.service).sort(), ["a", "b"]);
    first.child.kill("SIGKILL");
    await first.exited;
    t.ok(podPids(leftovers).every(isRunning), "their pods outlive the autoscaler");

    // Today: sluice up -f a.yaml starts the autoscaler with AUTOSCALER_RESTORE=none, applies a only.
    const second = await startProcess(t, "autoscaler/main.ts", { ...env, AUTOSCALER_RESTORE: "none" });
    const today = api(second.message.port as number);
    // Killed before the API listens; a SIGKILLed process is gone once the kernel has reaped it.
    await waitFor("no pod adopted: every leftover is stopped", () => !podPids(leftovers).some(isRunning));
    t.same((await today.get<{ revisions: object }>("/v1/state")).revisions, {}, "nothing runs");

    await today.apply(appService("a", { version: "v2" }));
    const services = await today.get<{
      services: { manifest: { metadata: { name: string } }; revisions: string[]; active: boolean }[];
    }>("/v1/services");
    t.same(
      services.services.map((s) => ({
        name: s.manifest.metadata.name,
        revisions: s.revisions,
        active: s.active,
      })),
      [
        { name: "a", revisions: ["a-00001", "a-00002"], active: true },
        { name: "b", revisions: ["b-00001"], active: false },
      ],
      "a continues its numbering; b is listed inactive",
    );
    const status = await today.get<StatusSnapshot>("/v1/status");
    t.same(
      status.services.map((s) => [s.name, s.active]),
      [
        ["a", true],
        ["b", false],
      ],
    );
    await waitFor("a's new revision gets its pod", async () => {
      const s = await today.get<StatusSnapshot>("/v1/status");
      return s.services[0].revisions.find((r) => r.name === "a-00002")?.readyPods === 1;
    });
    t.same(
      recordedPods(stateDir).map((r) => r.service),
      ["a"],
      "b has no pod",
    );
    t.notOk(
      Object.keys((await today.get<{ revisions: object }>("/v1/state")).revisions).some((key) =>
        key.startsWith("default/b-"),
      ),
      "b is not routed",
    );
  },
);
