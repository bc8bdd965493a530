// The informer against a real API server: ConfigMap changes arrive as add/update/delete keys; the
// watch survives an API server restart (changes made while it was away are seen after); a 410
// Gone relists and loses no update; resync re-emits every key.
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { Informer, type InformerEvent, type KubeObject } from "../../platform/kubernetes/informer.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = await skipUnlessControlPlane(t);

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** Records events; `seen(type, key, value?)` for conditions. */
function recorder(informer: Informer<ConfigMap>) {
  const events: InformerEvent<ConfigMap>[] = [];
  informer.on((event) => events.push(event));
  return {
    events,
    seen: (type: string, key: string, value?: string) =>
      events.some(
        (e) => e.type === type && e.key === key && (value === undefined || e.object.data?.v === value),
      ),
  };
}

/** A delay the test can hold shut: retries wait until `open()`. */
function gate() {
  let opened = true;
  let release: () => void = () => {};
  let held = new Promise<void>(() => {});
  let waiting = 0;
  return {
    close() {
      opened = false;
      held = new Promise((resolve) => (release = resolve));
    },
    open() {
      opened = true;
      release();
    },
    get waiting() {
      return waiting;
    },
    delay: async (ms: number, signal: AbortSignal) => {
      if (!opened) {
        waiting++;
        await Promise.race([held, new Promise((r) => signal.addEventListener("abort", r))]);
        waiting--;
      }
      await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
    },
  };
}

t.test("the informer against a real API server", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const namespace = "informer";
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const cm = (name: string, v: string) => ({ metadata: { name, labels: { app: "x" } }, data: { v } });
  await core.createNamespacedConfigMap({ namespace, body: cm("before", "1") });

  const held = gate();
  const informer = new Informer<ConfigMap>(
    cp.kubeConfig,
    { group: "", version: "v1", plural: "configmaps", namespace, labelSelector: "app=x" },
    // Pages of one, so every relist below is paged with continue tokens.
    { delay: held.delay, resyncMs: 0, bookmarks: false, pageSize: 1 },
  );
  const r = recorder(informer);
  t.teardown(() => informer.stop());
  await informer.start();
  t.ok(informer.hasSynced, "synced after the first list");
  t.ok(r.seen("add", `${namespace}/before`, "1"), "the list's objects are added");
  t.same(informer.keys(), [`${namespace}/before`]);

  await t.test("create, update and delete arrive as keys", async (t) => {
    await core.createNamespacedConfigMap({ namespace, body: cm("a", "1") });
    await waitFor("add a", () => r.seen("add", `${namespace}/a`, "1"));
    await core.replaceNamespacedConfigMap({ name: "a", namespace, body: cm("a", "2") });
    await waitFor("update a", () => r.seen("update", `${namespace}/a`, "2"));
    t.equal(informer.get(`${namespace}/a`)?.data?.v, "2", "the cache holds the new state");
    await core.deleteNamespacedConfigMap({ name: "a", namespace });
    await waitFor("delete a", () => r.seen("delete", `${namespace}/a`));
    t.equal(informer.get(`${namespace}/a`), undefined, "gone from the cache");
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "unlabelled" } } });
    await core.createNamespacedConfigMap({ namespace, body: cm("b", "1") });
    await waitFor("add b", () => r.seen("add", `${namespace}/b`, "1"));
    t.notOk(
      r.events.some((e) => e.key.endsWith("/unlabelled")),
      "the label selector applies to list and watch",
    );
    t.equal(informer.stats.lists, 1, "no relist so far");
  });

  await t.test("resync re-emits every key", async (t) => {
    const before = r.events.length;
    informer.resync();
    const keys = r.events.slice(before).map((e) => `${e.type} ${e.key}`);
    t.same(keys.sort(), [`resync ${namespace}/b`, `resync ${namespace}/before`]);
  });

  await t.test("the watch survives an API server restart", async (t) => {
    // A second informer as in production (bookmarks, its real jittered back-off): it must see the
    // same changes, whenever its reconnect happens to land.
    const plain = new Informer<ConfigMap>(cp.kubeConfig, {
      group: "",
      version: "v1",
      plural: "configmaps",
      namespace,
      labelSelector: "app=x",
    });
    const p = recorder(plain);
    t.teardown(() => plain.stop());
    await plain.start();
    held.close();
    const failures = informer.stats.failures;
    await cp.restartApiServer();
    // The dropped watch fails and its retry is held, so what follows happens while it is away.
    await waitFor("the informer to notice", () => informer.stats.failures > failures && held.waiting > 0, {
      timeoutMs: 30_000,
    });
    await core.replaceNamespacedConfigMap({ name: "b", namespace, body: cm("b", "2") });
    await core.deleteNamespacedConfigMap({ name: "before", namespace });
    await core.createNamespacedConfigMap({ namespace, body: cm("c", "1") });
    held.open();
    await waitFor(
      "changes made while it was away",
      () =>
        r.seen("update", `${namespace}/b`, "2") &&
        r.seen("delete", `${namespace}/before`) &&
        r.seen("add", `${namespace}/c`, "1"),
      { timeoutMs: 30_000 },
    );
    t.same(informer.keys().sort(), [`${namespace}/b`, `${namespace}/c`]);
    await waitFor(
      "the production-configured informer to see them too",
      () =>
        p.seen("update", `${namespace}/b`, "2") &&
        p.seen("delete", `${namespace}/before`) &&
        p.seen("add", `${namespace}/c`, "1"),
      { timeoutMs: 30_000 },
    );
    t.same(plain.keys().sort(), [`${namespace}/b`, `${namespace}/c`]);
    t.comment(`production-configured informer: ${JSON.stringify(plain.stats)}`);
    await plain.stop();
    t.comment(`stats after the restart: ${JSON.stringify(informer.stats)}`);
    await core.replaceNamespacedConfigMap({ name: "c", namespace, body: cm("c", "2") });
    await waitFor("a change after reconnecting", () => r.seen("update", `${namespace}/c`, "2"));
    t.pass("it watches again");
  });

  await t.test("a 410 Gone relists and loses no update", async (t) => {
    // The informer watches from the resourceVersion of the last event it saw (bookmarks are off,
    // so nothing moves it on). A write outside its selector moves etcd past that; a restarted API
    // server's watch cache then starts after it, so a watch from there is answered "too old
    // resource version" (an ERROR event, code 410) and the informer must relist.
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "elsewhere" } } });
    const { gone, lists, failures } = informer.stats;
    held.close();
    await cp.restartApiServer();
    await waitFor("the informer to notice", () => informer.stats.failures > failures && held.waiting > 0, {
      timeoutMs: 30_000,
    });
    for (const v of ["3", "4", "5"]) {
      await core.replaceNamespacedConfigMap({ name: "b", namespace, body: cm("b", v) });
    }
    await core.deleteNamespacedConfigMap({ name: "c", namespace });
    await core.createNamespacedConfigMap({ namespace, body: cm("d", "1") });
    held.open();
    await waitFor(
      "the relist's differences",
      () =>
        r.seen("update", `${namespace}/b`, "5") &&
        r.seen("delete", `${namespace}/c`) &&
        r.seen("add", `${namespace}/d`, "1"),
      { timeoutMs: 30_000 },
    );
    t.ok(informer.stats.gone > gone, "the server said 410 Gone");
    t.ok(informer.stats.lists > lists, "and the informer relisted");
    t.equal(informer.get(`${namespace}/b`)?.data?.v, "5", "the last update is in the cache");
    t.same(informer.keys().sort(), [`${namespace}/b`, `${namespace}/d`]);
    await core.replaceNamespacedConfigMap({ name: "d", namespace, body: cm("d", "2") });
    await waitFor("a change after the relist", () => r.seen("update", `${namespace}/d`, "2"));
    t.pass("it watches from the new list's resourceVersion");
  });

  await t.test("stop closes the watch", async (t) => {
    await informer.stop();
    const before = r.events.length;
    await core.replaceNamespacedConfigMap({ name: "d", namespace, body: cm("d", "3") });
    await core.readNamespacedConfigMap({ name: "d", namespace });
    t.equal(r.events.length, before, "no events after stop");
  });
});
