// sluice status against a real kube-apiserver: the Services and Revisions and the statuses the
// controller writes (the reconciler itself makes the Revisions and the Service status here, and
// the Revision statuses are written through the status subresource as the revision reconciler
// would), shown as a table, as JSON, for one namespace or all, and redrawn with --watch.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { KubeClient } from "../../platform/kubernetes/kube-client.ts";
import { type RevisionHealth, revisionStatus } from "../../platform/kubernetes/revision-status.ts";
import { reconcileService } from "../../platform/kubernetes/service-reconciler.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installSluiceCrds } from "../helpers/kube/sluice-crds.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { sluice as runSluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const skip = await skipUnlessControlPlane(t);
// A control plane and about 15 runs of the CLI: more than tap's 120 s per file on a busy 2-core machine.
t.setTimeout(360_000);

/** The CLI as a user runs it; a minute each, since other tests may be loading the machine. */
const sluice = (args: string[], options: { env?: Record<string, string> } = {}) =>
  runSluice(args, { timeoutMs: 60_000, ...options });

const service = (name: string, namespace = "default") => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/example/${name}:1
`;

t.test("sluice status reads the statuses the controller writes", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  await installSluiceCrds(cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "staging" } } });
  const dir = tempDir(t, "sluice-cluster-status-");
  const kube = ["--kubeconfig", cp.kubeconfigPath];

  const empty = await sluice(["status", ...kube]);
  t.equal(empty.code, 0, empty.stderr);
  t.match(empty.stdout, "no services in namespace default");

  for (const [name, namespace] of [
    ["hello", "default"],
    ["broken", "default"],
    ["later", "staging"],
  ]) {
    writeFileSync(join(dir, `${name}.yaml`), service(name, namespace));
    const applied = await sluice(["apply", "-f", join(dir, `${name}.yaml`), ...kube]);
    t.equal(applied.code, 0, applied.stderr);
  }

  const before = await sluice(["status", ...kube]);
  t.equal(before.code, 0, before.stderr);
  t.match(before.stdout, /^hello +- +- +- +-$/m, "no status yet: dashes");
  t.match(before.stdout, "hello: no status yet; is the sluice controller running?");

  // The controller's part: Revisions, then their health, then the Services' status.
  const client = new KubeClient(cp.kubeConfig);
  const now = () => new Date();
  for (const name of ["hello", "broken"]) {
    const result = await reconcileService(client, "default", name, { domain: "example.com", now });
    t.equal(result.outcome, "reconciled");
  }
  const deploying = await sluice(["status", ...kube]);
  t.match(deploying.stdout, /^hello +http:\/\/hello\.default\.example\.com +Unknown +hello-00001 +-$/m);
  t.match(deploying.stdout, "hello: Ready Unknown: Deploying:");

  const setRevision = (name: string, health: RevisionHealth, replicas: { desired: number; actual: number }) =>
    client.updateRevisionStatus("default", name, (current) => ({
      ...current,
      status: revisionStatus(health, replicas, undefined, new Date(), 1) as unknown as Record<
        string,
        unknown
      >,
    }));
  await setRevision("hello-00001", { state: "ready" }, { desired: 2, actual: 2 });
  await setRevision(
    "broken-00001",
    {
      state: "failed",
      failure: {
        kind: "image",
        reason: "ImagePullBackOff",
        message: 'user-container: Back-off pulling image "ghcr.io/example/broken:1"',
      },
    },
    { desired: 1, actual: 0 },
  );
  for (const name of ["hello", "broken"]) await reconcileService(client, "default", name, { now });

  const table = await sluice(["status", ...kube]);
  t.equal(table.code, 0, table.stderr);
  t.equal(table.stderr, "");
  const lines = table.stdout.split("\n");
  t.match(lines[0], /^SERVICE +URL +READY +LATEST CREATED +LATEST READY$/);
  t.match(table.stdout, /^broken +http:\/\/broken\.default\.example\.com +False +broken-00001 +-$/m);
  t.match(table.stdout, /^hello +http:\/\/hello\.default\.example\.com +True +hello-00001 +hello-00001$/m);
  t.match(table.stdout, /^SERVICE +REVISION +TRAFFIC +TAGS +READY +DESIRED +ACTUAL$/m);
  t.match(table.stdout, /^hello +hello-00001 +100% +- +True +2 +2$/m);
  t.match(table.stdout, /^broken +broken-00001 +100% +- +False +1 +0$/m);
  t.match(
    table.stdout,
    'broken: Ready False: RevisionFailed: Revision "broken-00001" failed: ImagePullBackOff',
  );
  t.match(
    table.stdout,
    "broken-00001: Ready False: ImagePullBackOff: user-container: Back-off pulling image",
  );
  t.notMatch(table.stdout, "later", "another namespace is not shown");

  const json = await sluice(["status", ...kube, "--json"]);
  t.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  t.match(parsed.services, [
    {
      namespace: "default",
      name: "broken",
      status: { latestCreatedRevisionName: "broken-00001", conditions: [{ type: "Ready", status: "False" }] },
      revisions: [{ name: "broken-00001", status: { desiredReplicas: 1, actualReplicas: 0 } }],
    },
    {
      namespace: "default",
      name: "hello",
      status: {
        url: "http://hello.default.example.com",
        traffic: [{ revisionName: "hello-00001", percent: 100, latestRevision: true }],
      },
      revisions: [{ name: "hello-00001", status: { conditions: [{ type: "Ready", status: "True" }] } }],
    },
  ]);

  const all = await sluice(["status", ...kube, "-A"]);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^default\/hello +http/m);
  t.match(all.stdout, /^staging\/later +- +-/m);
  t.match(all.stdout, "staging/later: no status yet");
  const staging = await sluice(["status", ...kube, "-n", "staging"]);
  t.match(staging.stdout, /^staging\/later +-/m);
  t.notMatch(staging.stdout, "hello");

  const knative = await sluice(["status", ...kube, "--group", "serving.knative.dev"]);
  t.equal(knative.code, 1);
  // Services and Revisions are read at once: whichever is refused first is named.
  t.match(
    knative.stderr,
    /does not serve (services|revisions)\.serving\.knative\.dev: is the sluice chart installed\?/,
  );

  const both = await sluice(["status", ...kube, "-A", "-n", "x"]);
  t.equal(both.code, 2);
  const localA = await sluice(["status", "-A"]);
  t.equal(localA.code, 2);
  t.match(localA.stderr, "-A (--all-namespaces) needs a cluster");
  const help = await sluice(["status", "--help"]);
  t.match(help.stdout, "--all-namespaces");

  await t.test("--watch redraws as the status changes, until Ctrl-C", async (t) => {
    const child = spawn(process.execPath, [`${ROOT}cli/main.ts`, "status", ...kube, "--watch"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    t.teardown(() => child.kill("SIGKILL"));
    await waitFor("the first frame", () => /broken-00001 +100% +- +False/.test(out), { timeoutMs: 60_000 });
    t.match(out, `${cp.server} (namespace default)`);
    await setRevision("broken-00001", { state: "ready" }, { desired: 1, actual: 1 });
    await reconcileService(client, "default", "broken", { now });
    await waitFor("a frame with broken ready", () => /^broken +http\S+ +True/m.test(out), {
      timeoutMs: 60_000,
    });
    child.kill("SIGINT");
    t.equal(await exited, 0, "Ctrl-C ends it with 0");
  });
});
