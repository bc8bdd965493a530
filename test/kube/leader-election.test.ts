// Leader election on a real Lease: of two candidates exactly one leads; when the leader dies
// (stops renewing, or its process is killed) the other takes over within about the lease
// duration; a 409 on update is retried; a leader that cannot renew stops leading; a released
// Lease is taken at once.
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { LeaderElector, type LeaseApi } from "../../platform/kubernetes/leader-election.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";

const skip = await skipUnlessControlPlane(t);

const LEASE_MS = 3000;
const timing = { leaseDurationMs: LEASE_MS, renewDeadlineMs: 2000, retryPeriodMs: 300 };

/** Candidates sharing one Lease, with a record of who led when. */
function campaign(kubeConfig: k8s.KubeConfig, lease: string) {
  let leaders = 0;
  let mostAtOnce = 0;
  const log: string[] = [];
  const electors: LeaderElector[] = [];
  const add = (identity: string, api?: LeaseApi) => {
    const elector = new LeaderElector(kubeConfig, {
      namespace: "default",
      name: lease,
      identity,
      ...timing,
      api,
      onStartedLeading: () => {
        leaders++;
        mostAtOnce = Math.max(mostAtOnce, leaders);
        log.push(`${identity} started`);
      },
      onStoppedLeading: (reason) => {
        leaders--;
        log.push(`${identity} stopped: ${reason}`);
      },
    });
    electors.push(elector);
    return elector;
  };
  return {
    add,
    log,
    get mostAtOnce() {
      return mostAtOnce;
    },
    leading: () => electors.filter((e) => e.isLeader),
    stopAll: () => Promise.all(electors.map((e) => e.stop())),
  };
}

t.test("leader election on a real Lease", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const coordination = cp.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const readLease = (name: string) => coordination.readNamespacedLease({ name, namespace: "default" });

  await t.test("two candidates: exactly one leads; the other takes over when it dies", async (t) => {
    const c = campaign(cp.kubeConfig, "pair");
    t.teardown(c.stopAll);
    const a = c.add("a");
    const b = c.add("b");
    a.start();
    b.start();
    const [first] = await waitFor("a leader", () => (c.leading().length > 0 ? c.leading() : undefined));
    const other = first === a ? b : a;
    await waitFor("the other to see the leader", () => other.leader === first.identity);
    // A few periods on, still exactly one (and never two at once, checked at the end).
    const attempts = other.stats.attempts;
    await waitFor("the other to have tried a few times", () => other.stats.attempts >= attempts + 3);
    t.same(
      c.leading().map((e) => e.identity),
      [first.identity],
      "exactly one leads",
    );
    let lease = await readLease("pair");
    t.equal(lease.spec?.holderIdentity, first.identity, "the Lease names it");
    t.equal(lease.spec?.leaseDurationSeconds, 3);
    t.ok(lease.spec?.acquireTime && lease.spec?.renewTime, "acquireTime and renewTime are set");

    const died = Date.now();
    await first.stop({ release: false }); // stops renewing, as if it crashed
    await waitFor("the other to take over", () => other.isLeader, { timeoutMs: 5 * LEASE_MS });
    const tookMs = Date.now() - died;
    t.comment(`took over after ${tookMs} ms (lease ${LEASE_MS} ms)`);
    t.ok(tookMs >= LEASE_MS / 2, "not before the lease could have run out");
    t.ok(tookMs < 3 * LEASE_MS, "within about the lease duration");
    lease = await readLease("pair");
    t.equal(lease.spec?.holderIdentity, other.identity);
    t.equal(lease.spec?.leaseTransitions, 1, "one transition");
    t.equal(c.mostAtOnce, 1, "never two leaders at once");
  });

  await t.test("killing the leader's process hands over", async (t) => {
    const module = pathToFileURL(`${ROOT}platform/kubernetes/leader-election.ts`).href;
    const script = `
      import * as k8s from "@kubernetes/client-node";
      const { LeaderElector } = await import(${JSON.stringify(module)});
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(process.env.KUBECONFIG_PATH);
      new LeaderElector(kc, { namespace: "default", name: "killed", identity: "child",
        ...${JSON.stringify(timing)}, onStartedLeading: () => console.log("leading") }).start();
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, KUBECONFIG_PATH: cp.kubeconfigPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const { output, exited } = watchChild(t, child);
    await waitFor("the child to lead", () => output().includes("leading"), { timeoutMs: 15_000 });

    const c = campaign(cp.kubeConfig, "killed");
    t.teardown(c.stopAll);
    const survivor = c.add("survivor");
    survivor.start();
    await waitFor("the survivor to see the child lead", () => survivor.leader === "child");
    t.notOk(survivor.isLeader, "it does not lead while the child renews");
    const killed = Date.now();
    child.kill("SIGKILL");
    await exited;
    await waitFor("the survivor to take over", () => survivor.isLeader, { timeoutMs: 5 * LEASE_MS });
    const tookMs = Date.now() - killed;
    t.comment(`took over ${tookMs} ms after the kill`);
    t.ok(tookMs < 3 * LEASE_MS, "within about the lease duration");
    t.equal((await readLease("killed")).spec?.holderIdentity, "survivor");
  });

  await t.test("a 409 on update is retried", async (t) => {
    // Between the candidate's read and its write, someone else writes the Lease (through the real
    // API), so the server answers its update with a real 409 Conflict.
    await coordination.createNamespacedLease({
      namespace: "default",
      body: { metadata: { name: "contended" }, spec: { holderIdentity: "", leaseDurationSeconds: 3 } },
    });
    let interfered = 0;
    const api: LeaseApi = {
      readNamespacedLease: (p) => coordination.readNamespacedLease(p),
      createNamespacedLease: (p) => coordination.createNamespacedLease(p),
      async replaceNamespacedLease(p) {
        if (interfered < 2) {
          interfered++;
          await coordination.patchNamespacedLease(
            {
              name: p.name,
              namespace: p.namespace,
              body: [{ op: "add", path: "/metadata/annotations", value: { touched: String(interfered) } }],
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch),
          );
        }
        return coordination.replaceNamespacedLease(p);
      },
    };
    const c = campaign(cp.kubeConfig, "contended");
    t.teardown(c.stopAll);
    const e = c.add("persistent", api);
    e.start();
    await waitFor("it to lead after the conflicts", () => e.isLeader, { timeoutMs: 10_000 });
    t.equal(e.stats.conflicts, 2, "two 409s, each retried on the next period");
    t.equal(e.stats.errors, 0, "a conflict is not an error");
    t.equal((await readLease("contended")).spec?.holderIdentity, "persistent");
  });

  await t.test("a leader that cannot renew stops leading", async (t) => {
    let failing = false;
    const api: LeaseApi = {
      readNamespacedLease: (p) => coordination.readNamespacedLease(p),
      createNamespacedLease: (p) => coordination.createNamespacedLease(p),
      replaceNamespacedLease: (p) =>
        failing ? Promise.reject(new Error("connection refused")) : coordination.replaceNamespacedLease(p),
    };
    const c = campaign(cp.kubeConfig, "cut-off");
    t.teardown(c.stopAll);
    const cut = c.add("cut-off", api);
    cut.start();
    await waitFor("it to lead", () => cut.isLeader);
    const rival = c.add("rival");
    rival.start();
    await waitFor("the rival to see it", () => rival.leader === "cut-off");
    const since = Date.now();
    failing = true;
    await waitFor("it to stop leading", () => !cut.isLeader, { timeoutMs: 3 * LEASE_MS });
    const stoppedMs = Date.now() - since;
    t.ok(stoppedMs < LEASE_MS + 1000, `stopped after ${stoppedMs} ms, before its lease ran out`);
    t.match(c.log.join("\n"), /cut-off stopped: could not renew/);
    await waitFor("the rival to take over", () => rival.isLeader, { timeoutMs: 5 * LEASE_MS });
    t.equal(c.mostAtOnce, 1, "never two leaders at once");
  });

  await t.test(
    "a renewal answered late counts from when it was sent: no overlap with the next leader",
    async (t) => {
      // The renewal lands at once but its answer takes 1.9 s (a loaded API server), and no later
      // one lands. Timed from the answer, the leader would believe itself the holder until ~3.9 s
      // after its write, while the rival may take the Lease 3 s after seeing that write.
      let mode: "normal" | "slow" | "failing" = "normal";
      const api: LeaseApi = {
        readNamespacedLease: (p) => coordination.readNamespacedLease(p),
        createNamespacedLease: (p) => coordination.createNamespacedLease(p),
        async replaceNamespacedLease(p) {
          if (mode === "failing") throw new Error("connection refused");
          const written = await coordination.replaceNamespacedLease(p);
          if (mode === "slow") {
            mode = "failing";
            await new Promise((resolve) => setTimeout(resolve, 1900));
          }
          return written;
        },
      };
      const c = campaign(cp.kubeConfig, "late-answer");
      t.teardown(c.stopAll);
      const late = c.add("late", api);
      late.start();
      await waitFor("it to lead", () => late.isLeader);
      const rival = c.add("rival");
      rival.start();
      await waitFor("the rival to see it", () => rival.leader === "late");
      mode = "slow";
      await waitFor("the rival to take over", () => rival.isLeader, { timeoutMs: 5 * LEASE_MS });
      t.equal(c.mostAtOnce, 1, "never two leaders at once");
      t.match(c.log.join("\n"), /late stopped: .*\nrival started/);
    },
  );

  await t.test("a released Lease is taken without waiting for it to expire", async (t) => {
    const c = campaign(cp.kubeConfig, "released");
    t.teardown(c.stopAll);
    const a = c.add("a");
    a.start();
    await waitFor("a to lead", () => a.isLeader);
    const b = c.add("b");
    b.start();
    await waitFor("b to see a", () => b.leader === "a");
    const released = Date.now();
    await a.stop();
    t.equal((await readLease("released")).spec?.holderIdentity, "", "holder cleared");
    await waitFor("b to lead", () => b.isLeader, { timeoutMs: 5 * LEASE_MS });
    const tookMs = Date.now() - released;
    t.comment(`took over ${tookMs} ms after the release`);
    t.ok(tookMs < LEASE_MS, "sooner than the lease duration");
  });
});
