// sluice logs against a real kube-apiserver: pods found by the service's labels, their containers'
// logs read through pods/log (the test node serves the kubelet's log API the apiserver calls),
// merged oldest first with the pod as prefix; --revision, --container, --tail, --follow (pods that
// start later included), and unknown services or revisions and forbidden calls said plainly.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { LABEL } from "../../platform/kubernetes/names.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installSluiceCrds } from "../helpers/kube/sluice-crds.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { sluice as runSluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();
// A control plane and pods and about 15 runs of the CLI: more than tap's 120 s per file on a busy 2-core machine.
t.setTimeout(360_000);

/** The CLI as a user runs it; a minute each, since other tests may be loading the machine. */
const sluice = (args: string[], options: { env?: Record<string, string> } = {}) =>
  runSluice(args, { timeoutMs: 60_000, ...options });
const namespace = "default";

/** A node one-liner: print `first`, then `tick N` every 200 ms with `prefix`. */
const script = (prefix: string, ticks: boolean) =>
  `console.log(${JSON.stringify(`${prefix}: start`)});${
    ticks
      ? `let i=0;setInterval(()=>console.log(${JSON.stringify(`${prefix}: tick `)}+i++),200);`
      : "setInterval(()=>{},1e9);"
  }`;

/** A pod as the revision Deployment makes them: the labels, user-container and queue-proxy. */
function pod(name: string, revision: string, prefix: string, ticks = false): k8s.V1Pod {
  return {
    metadata: {
      name,
      namespace,
      labels: { [LABEL.service]: "hello", [LABEL.revision]: revision, [LABEL.namespace]: namespace },
    },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: "user-container", image: "node:24", command: ["node", "-e", script(prefix, ticks)] },
        {
          name: "queue-proxy",
          image: "node:24",
          command: ["node", "-e", `console.log("qp: ${name} ready");setInterval(()=>{},1e9)`],
        },
      ],
    },
  };
}

t.test("sluice logs reads the pods' logs through the API server", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllers: ["serviceaccount-controller"] });
  await installSluiceCrds(cp);
  const node = await startTestNode(t, cp);
  if (!t.ok(node.kubeletPort, "the test node serves the kubelet's log API (needs openssl)")) return;
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    "the default ServiceAccount",
    () => core.readNamespacedServiceAccount({ name: "default", namespace }),
    {
      timeoutMs: 20_000,
      everyMs: 100,
    },
  );
  const kube = ["--kubeconfig", cp.kubeconfigPath];
  const dir = tempDir(t, "sluice-cluster-logs-");
  writeFileSync(
    join(dir, "hello.yaml"),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/example/hello:1
`,
  );
  const applied = await sluice(["apply", "-f", join(dir, "hello.yaml"), ...kube]);
  t.equal(applied.code, 0, applied.stderr);

  const none = await sluice(["logs", "hello", ...kube]);
  t.equal(none.code, 0, none.stderr);
  t.match(none.stderr, "no pods of hello in namespace default (scaled to zero?)");

  const running = (name: string, line: string) =>
    waitFor(
      `${name} running and written`,
      () => node.logs(namespace, name, "user-container").includes(line),
      {
        timeoutMs: 30_000,
        everyMs: 100,
      },
    );
  await core.createNamespacedPod({ namespace, body: pod("hello-00001-a", "hello-00001", "one", true) });
  await running("hello-00001-a", "one: tick 2");
  await core.createNamespacedPod({ namespace, body: pod("hello-00002-b", "hello-00002", "two") });
  await running("hello-00002-b", "two: start");
  await waitFor(
    "queue-proxy written",
    () => node.logs(namespace, "hello-00001-a", "queue-proxy").includes("ready"),
    {
      timeoutMs: 30_000,
    },
  );

  await t.test("every pod's serving container, oldest first, prefixed with the pod", async (t) => {
    const result = await sluice(["logs", "hello", ...kube]);
    t.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    t.equal(lines[0], "[hello-00001-a] one: start");
    t.ok(lines.includes("[hello-00001-a] one: tick 0"));
    t.ok(lines.includes("[hello-00002-b] two: start"));
    t.ok(
      lines.indexOf("[hello-00001-a] one: tick 0") < lines.indexOf("[hello-00002-b] two: start"),
      "merged by time across pods",
    );
    t.notMatch(result.stdout, "qp:", "not the queue-proxy's");
    const all = await sluice(["logs", ...kube]);
    t.match(all.stdout, "[hello-00002-b] two: start", "without SERVICE: every service's pods");
  });

  await t.test("--revision, --container, --tail", async (t) => {
    const revision = await sluice(["logs", "hello", "--revision", "hello-00002", ...kube]);
    t.equal(revision.code, 0, revision.stderr);
    t.equal(revision.stdout, "[hello-00002-b] two: start\n");

    const queue = await sluice(["logs", "hello", "--container", "queue-proxy", ...kube]);
    t.equal(queue.code, 0, queue.stderr);
    t.match(queue.stdout, "[hello-00001-a] qp: hello-00001-a ready");
    t.match(queue.stdout, "[hello-00002-b] qp: hello-00002-b ready");
    t.notMatch(queue.stdout, "one:");

    const tail = await sluice(["logs", "hello", "--revision", "hello-00001", "--tail", "1", ...kube]);
    t.equal(tail.code, 0, tail.stderr);
    t.match(tail.stdout, /^\[hello-00001-a\] one: tick \d+\n$/);

    const nowhere = await sluice(["logs", "hello", "--container", "sidecar", ...kube]);
    t.equal(nowhere.code, 1);
    t.match(nowhere.stderr, "no container sidecar in the pods (they have: user-container, queue-proxy)");
  });

  await t.test("unknown service or revision: exit 1, naming what is there", async (t) => {
    const service = await sluice(["logs", "nope", ...kube]);
    t.equal(service.code, 1);
    t.match(service.stderr, "no service nope in namespace default (there: hello)");
    const revision = await sluice(["logs", "hello", "--revision", "hello-00009", ...kube]);
    t.equal(revision.code, 1);
    t.match(revision.stderr, "no revision hello-00009 of service hello in namespace default");
  });

  await t.test("--follow: new lines of every pod, pods that start later too, until Ctrl-C", async (t) => {
    const child = spawn(
      process.execPath,
      [`${ROOT}cli/main.ts`, "logs", "hello", "-f", "--tail", "0", ...kube],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    t.teardown(() => child.kill("SIGKILL"));
    await waitFor("new ticks", () => (out.match(/\[hello-00001-a\] one: tick \d+/g) ?? []).length >= 3, {
      timeoutMs: 60_000,
    });
    t.notMatch(out, "one: start", "--tail 0: only new lines");
    await core.createNamespacedPod({ namespace, body: pod("hello-00002-c", "hello-00002", "three") });
    await waitFor("the later pod's lines", () => out.includes("[hello-00002-c] three: start\n"), {
      timeoutMs: 60_000,
    });
    child.kill("SIGINT");
    t.equal(await exited, 0, `Ctrl-C ends it with 0 (${err})`);
  });

  await t.test("forbidden: the verb and the resource", async (t) => {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "nobody" } } });
    const path = cp.writeKubeconfig(await cp.serviceAccountToken(namespace, "nobody"), "nobody");
    const result = await sluice(["logs", "hello", "--kubeconfig", path]);
    t.equal(result.code, 1);
    t.match(result.stderr, "forbidden: cannot list pods in namespace default");
  });
});
