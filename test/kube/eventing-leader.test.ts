// Two eventing replicas in Kubernetes mode against a real kube-apiserver and nats-server, each as
// the chart's eventing ServiceAccount (helm-installed: the sources' Lease and its Role): one holds
// the Lease and runs the PingSource, so every tick reaches the recorder once (never a tick sent by
// both); both serve the Broker ingress; when the leader stops, the other takes the Lease over and
// the ticks go on, still once each.

import * as k8s from "@kubernetes/client-node";
import t, { type Test } from "tap";
import { freePort } from "../../common/free-port.ts";
import { helmSkip, type Manifest, NAMESPACE, RELEASE } from "../charts/chart.ts";
import { startRecorder } from "../eventing/event-recorder.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installChartWithEventing } from "../helpers/kube/eventing-chart.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { type Started, startProcess, waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessNats() || helmSkip();

const EVENTING = `${RELEASE}-sluice-eventing`;
const NS = "demo";

// Its test allows 240 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(270_000);
t.test(
  "eventing replicas: the sources run on the Lease's holder only",
  { skip, timeout: 240_000 },
  async (t) => {
    const cp = await startControlPlane(t, { controllerManager: false });
    const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const coordination = cp.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    await installChartWithEventing(t, cp, [["sources.knative.dev", "v1", "pingsources"]]);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const token = await cp.serviceAccountToken(NAMESPACE, EVENTING);
    const kubeconfig = cp.writeKubeconfig(token, "eventing");
    const nats = await startNats(t);
    const recorder = await startRecorder(t);

    const replica = async (name: string) => {
      const port = await freePort();
      const proc = await startProcess(
        t,
        "eventing/main.ts",
        {
          SLUICE_PLATFORM: "kubernetes",
          SLUICE_KUBECONFIG: kubeconfig,
          EVENTING_INGRESS_URL: `http://${EVENTING}.${NAMESPACE}.svc.cluster.local`,
          NATS_URL: nats.url,
          EVENTING_PORT: String(port),
          EVENTING_ADMIN_PORT: "0",
          EVENTING_WEBHOOK_PORT: "0",
          SLUICE_ROUTER_URL: recorder.url,
          // As the chart sets them (eventing-deployment.yaml), the duration short for a quick test.
          SLUICE_LEASE_NAME: EVENTING,
          POD_NAMESPACE: NAMESPACE,
          POD_NAME: name,
          SLUICE_LEASE_DURATION_SECONDS: "4",
          // Shown only if a tick arrives twice: who led, and when each applied its sources.
          LOG_LEVEL: "info",
        },
        { timeoutMs: 60_000 },
      );
      return {
        name,
        proc,
        admin: `http://127.0.0.1:${proc.message.adminPort}`,
        ingress: `http://127.0.0.1:${port}`,
      };
    };
    const replicas = [await replica("eventing-a"), await replica("eventing-b")];
    const holder = async () =>
      (await coordination.readNamespacedLease({ name: EVENTING, namespace: NAMESPACE })).spec?.holderIdentity;
    const sourcesOn = async (r: { admin: string }) =>
      ((await (await fetch(`${r.admin}/v1/eventing`)).json()) as { sources: unknown[] }).sources.length;
    /** Ping events' scheduled times: one event per tick means no time twice. */
    const ticks = () => recorder.at("/ping").map((event) => String(event.headers["ce-time"]));
    /**
     * Every event of a tick that arrived more than once, as "time id arrival": the same id twice is
     * one event delivered again (a retry); two ids are two senders, or one runner that labelled a
     * tick with a later one's time (an arrival before its own time says so).
     */
    const duplicates = () => {
      const all = ticks();
      const twice = new Set(all.filter((time, i) => all.indexOf(time) !== i));
      return recorder
        .at("/ping")
        .filter((event) => twice.has(String(event.headers["ce-time"])))
        .map(
          (event) => `${event.headers["ce-time"]} ${event.id} ${new Date(event.receivedAt).toISOString()}`,
        );
    };
    /** No tick twice; if there is one, the replicas' logs (Lease won and lost, sources applied) say why. */
    const noDuplicates = (t: Test, message: string) => {
      const found = duplicates();
      const logs = found.length === 0 ? {} : { logs: replicas.map((r) => `${r.name}:\n${r.proc.output()}`) };
      t.same(found, [], message, logs);
    };

    await custom.createNamespacedCustomObject({
      group: "sources.knative.dev",
      version: "v1",
      namespace: NS,
      plural: "pingsources",
      body: k8s.loadYaml(`apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: tick, namespace: ${NS} }
spec:
  schedule: "* * * * * *"
  sink: { uri: ${recorder.url}/ping }
`),
    });
    const leaderName = await waitFor("a leader", holder, { timeoutMs: 30_000, everyMs: 100 });
    const leader = replicas.find((r) => r.name === leaderName);
    const other = replicas.find((r) => r.name !== leaderName);
    if (!leader || !other) throw new Error(`the Lease is held by ${leaderName}`);

    await t.test("one replica runs the PingSource: each tick arrives once", async (t) => {
      await waitFor("5 ticks", () => ticks().length >= 5, { timeoutMs: 30_000, everyMs: 100 });
      noDuplicates(t, "no tick sent twice");
      t.equal(await sourcesOn(leader), 1, "the Lease's holder runs it");
      t.equal(await sourcesOn(other), 0, "the other does not");
      const object = (await custom.getNamespacedCustomObject({
        group: "sources.knative.dev",
        version: "v1",
        namespace: NS,
        plural: "pingsources",
        name: "tick",
      })) as Manifest;
      t.equal(
        object.status?.conditions?.find((c: Manifest) => c.type === "Ready")?.status,
        "True",
        "Ready, as the leader wrote it (the other writes no status)",
      );
    });

    await t.test("both replicas serve the Broker ingress", async (t) => {
      await custom.createNamespacedCustomObject({
        group: "eventing.knative.dev",
        version: "v1",
        namespace: NS,
        plural: "brokers",
        body: {
          apiVersion: "eventing.knative.dev/v1",
          kind: "Broker",
          metadata: { name: "default", namespace: NS },
        },
      });
      for (const r of replicas)
        await waitFor(
          `${r.name} takes events for the Broker`,
          async () =>
            (
              await fetch(`${r.ingress}/${NS}/default`, {
                method: "POST",
                headers: { "ce-specversion": "1.0", "ce-id": r.name, "ce-source": "/t", "ce-type": "t" },
                body: "{}",
              })
            ).status === 202,
          { timeoutMs: 30_000, everyMs: 200 },
        );
      t.pass("202 from both");
    });

    await t.test("the leader stops: the other takes the Lease and the ticks go on, once each", async (t) => {
      leader.proc.child.kill("SIGTERM");
      t.equal(await (leader.proc as Started).exited, 0, "stopped cleanly (the Lease released)");
      await waitFor("the other holds the Lease", async () => (await holder()) === other.name, {
        timeoutMs: 30_000,
        everyMs: 100,
      });
      const before = ticks().length;
      await waitFor("3 more ticks", () => ticks().length >= before + 3, { timeoutMs: 30_000, everyMs: 100 });
      t.equal(await sourcesOn(other), 1, "the new leader runs the PingSource");
      noDuplicates(t, "still no tick sent twice");
    });

    await t.test("a leader killed outright: another takes over once its Lease expires", async (t) => {
      const third = await replica("eventing-c");
      replicas.push(third);
      other.proc.child.kill("SIGKILL");
      await other.proc.exited;
      await waitFor("the third holds the Lease", async () => (await holder()) === third.name, {
        timeoutMs: 30_000,
        everyMs: 100,
      });
      const before = ticks().length;
      await waitFor("3 more ticks", () => ticks().length >= before + 3, { timeoutMs: 30_000, everyMs: 100 });
      t.equal(await sourcesOn(third), 1, "it runs the PingSource");
      noDuplicates(t, "still no tick sent twice");
    });
  },
);
