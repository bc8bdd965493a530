// sluice apply and sluice validate against a real kube-apiserver with the chart's CRDs: server-side
// apply creates, configures or leaves Services unchanged; nothing is written unless every
// document passes (here and in the API server's dry run); CEL refusals, a missing CRD, a refusal
// by RBAC, an unreachable server and an unreadable kubeconfig are each said plainly.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { SLUICE_GROUP as GROUP, installSluiceCrds } from "../helpers/kube/sluice-crds.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { sluice as runSluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const skip = await skipUnlessControlPlane(t);
// A control plane and about 20 runs of the CLI: more than tap's 120 s per file on a busy 2-core machine.
t.setTimeout(360_000);

/** The CLI as a user runs it; a minute each, since other tests may be loading the machine. */
const sluice = (args: string[], options: { env?: Record<string, string> } = {}) =>
  runSluice(args, { timeoutMs: 60_000, ...options });

const service = (
  name: string,
  extra = "",
  apiVersion = "serving.knative.dev/v1",
) => `apiVersion: ${apiVersion}
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/example/hello:1
          env:
            - name: GREETING
              value: hi${extra}
`;

t.test("without a usable kubeconfig: exit 2 with the path, or exit 1 with the URL", async (t) => {
  const dir = tempDir(t, "sluice-cluster-apply-");
  const file = join(dir, "hello.yaml");
  writeFileSync(file, service("hello"));
  const missing = await sluice(["apply", "-f", file, "--kubeconfig", join(dir, "nope")]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, `cannot read kubeconfig ${join(dir, "nope")}: no such file`);

  const broken = join(dir, "broken");
  writeFileSync(broken, "clusters: [oops");
  const unreadable = await sluice(["validate", "-f", file, "--kubeconfig", broken]);
  t.equal(unreadable.code, 2);
  t.match(unreadable.stderr, `cannot read kubeconfig ${broken}`);

  const port = await refusedPort(t);
  const closed = join(dir, "closed");
  writeFileSync(
    closed,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: here, context: { cluster: c, user: u, namespace: staging } }]
current-context: here
`,
  );
  const unreachable = await sluice(["apply", "-f", file, "--kubeconfig", closed]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, `cannot reach the API server at https://127.0.0.1:${port} (ECONNREFUSED)`);

  const context = await sluice(["apply", "-f", file, "--kubeconfig", closed, "--context", "there"]);
  t.equal(context.code, 2);
  t.match(context.stderr, 'no context "there" in kubeconfig');
  t.match(context.stderr, "(it has: here)");

  const group = await sluice(["apply", "-f", file, "--kubeconfig", closed, "--group", "example.com"]);
  t.equal(group.code, 2);
  t.match(group.stderr, "--group must be serving.sluice.dev or serving.knative.dev");

  const both = await sluice(["apply", "-f", file, "--kubeconfig", closed, "--autoscaler", "http://x"]);
  t.equal(both.code, 2);
  t.match(both.stderr, "--autoscaler is for a local sluice");

  // Local problems need no cluster: found and reported before any call.
  writeFileSync(join(dir, "bad.yaml"), service("Bad_Name"));
  const invalid = await sluice(["apply", "-f", join(dir, "bad.yaml"), "--kubeconfig", closed]);
  t.equal(invalid.code, 2);
  t.match(invalid.stderr, `${join(dir, "bad.yaml")}:4:9: metadata.name: must be a DNS label`);
  t.match(invalid.stderr, "nothing was applied");

  // --cluster reads $KUBECONFIG.
  const fromEnv = await sluice(["apply", "-f", file, "--cluster"], { env: { KUBECONFIG: closed } });
  t.equal(fromEnv.code, 1);
  t.match(fromEnv.stderr, `https://127.0.0.1:${port}`);

  const home = join(dir, "home");
  const noConfig = await sluice(["status", "--cluster"], { env: { HOME: home, KUBECONFIG: "" } });
  t.equal(noConfig.code, 2);
  t.match(
    noConfig.stderr,
    `no kubeconfig: KUBECONFIG is not set and ${join(home, ".kube", "config")} does not exist`,
  );

  // A file in sluice's own group, as JSON on one line: positions after the apiVersion are the file's.
  const json = join(dir, "one-line.json");
  writeFileSync(
    json,
    JSON.stringify({
      apiVersion: "serving.sluice.dev/v1",
      kind: "Service",
      metadata: { name: "one-line" },
      spec: { template: { spec: { containers: [{ image: "x", colour: "red" }] } } },
    }),
  );
  const column = readFileSync(json, "utf8").indexOf('"colour"') + 1;
  const oneLine = await sluice(["validate", "-f", json, "--kubeconfig", closed]);
  t.equal(oneLine.code, 2);
  t.match(oneLine.stderr, `${json}:1:${column}: spec.template.spec.containers[0].colour: unknown field`);
  t.notMatch(oneLine.stderr, "apiVersion", "serving.sluice.dev/v1 is accepted in cluster mode");
  const local = await sluice(["validate", "-f", json]);
  t.match(local.stderr, 'apiVersion: must be "serving.knative.dev/v1"', "but not locally");

  for (const command of ["apply", "validate"]) {
    const help = await sluice([command, "--help"]);
    t.equal(help.code, 0);
    for (const option of ["--kubeconfig PATH", "--context NAME", "--cluster", "--namespace NS", "--group"])
      t.match(help.stdout, option, `${command} --help names ${option}`);
  }
});

t.test("apply and validate against a real API server", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const kubeconfig = cp.kubeconfigPath;
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const dir = tempDir(t, "sluice-cluster-apply-");
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const get = (name: string, namespace = "default") =>
    custom
      .getNamespacedCustomObject({ group: GROUP, version: "v1", namespace, plural: "services", name })
      .then(
        (object) => object as { apiVersion: string; metadata: k8s.V1ObjectMeta; spec: Record<string, never> },
        () => undefined,
      );
  const hello = write("hello.yaml", service("hello"));

  await t.test("before the CRDs are installed: how to install them", async (t) => {
    const result = await sluice(["apply", "-f", hello, "--kubeconfig", kubeconfig]);
    t.equal(result.code, 1, result.stderr);
    t.match(result.stderr, `the API server at ${cp.server} does not serve services.serving.sluice.dev`);
    t.match(result.stderr, "is the sluice chart installed? helm install sluice charts/sluice");
    const knative = await sluice([
      "validate",
      "-f",
      hello,
      "--kubeconfig",
      kubeconfig,
      "--group",
      "serving.knative.dev",
    ]);
    t.equal(knative.code, 1);
    t.match(knative.stderr, "does not serve services.serving.knative.dev");
    t.match(knative.stderr, "--set servingGroup=serving.knative.dev");
  });

  await installSluiceCrds(cp);

  await t.test("created, unchanged, configured; server-side apply by sluice", async (t) => {
    const first = await sluice(["apply", "-f", hello, "--kubeconfig", kubeconfig]);
    t.equal(first.code, 0, first.stderr);
    t.equal(first.stdout, "hello: created\n");
    const created = await get("hello");
    t.equal(created?.apiVersion, `${GROUP}/v1`, "apiVersion rewritten to the group");
    t.match(created?.metadata.managedFields, [{ manager: "sluice", operation: "Apply" }]);

    const again = await sluice(["apply", "-f", hello, "--kubeconfig", kubeconfig]);
    t.equal(again.code, 0, again.stderr);
    t.equal(again.stdout, "hello: unchanged\n");
    t.equal((await get("hello"))?.metadata.generation, created?.metadata.generation);

    // A file in sluice's own group is accepted too; a change is "configured".
    const changed = write("hello-2.yaml", service("hello", "!", `${GROUP}/v1`));
    const third = await sluice(["apply", "-f", changed, "--kubeconfig", kubeconfig]);
    t.equal(third.code, 0, third.stderr);
    t.equal(third.stdout, "hello: configured\n");
    t.match((await get("hello"))?.spec, {
      template: { spec: { containers: [{ env: [{ name: "GREETING", value: "hi!" }] }] } },
    });
  });

  await t.test("namespaces: -n, the file's own, and a mismatch", async (t) => {
    await core.createNamespace({ body: { metadata: { name: "staging" } } });
    const result = await sluice(["apply", "-f", hello, "--kubeconfig", kubeconfig, "-n", "staging"]);
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout, "staging/hello: created\n");
    t.ok(await get("hello", "staging"));

    const elsewhere = write(
      "elsewhere.yaml",
      service("elsewhere").replace("  name: elsewhere\n", "  name: elsewhere\n  namespace: staging\n"),
    );
    const own = await sluice(["apply", "-f", elsewhere, "--kubeconfig", kubeconfig]);
    t.equal(own.code, 0, own.stderr);
    t.equal(own.stdout, "staging/elsewhere: created\n");

    const mismatch = await sluice(["apply", "-f", elsewhere, "--kubeconfig", kubeconfig, "-n", "default"]);
    t.equal(mismatch.code, 2);
    t.match(
      mismatch.stderr,
      `${elsewhere}:5:14: metadata.namespace: namespace staging does not match -n default`,
    );
  });

  await t.test("all or nothing: a locally invalid document sends nothing", async (t) => {
    const good = write("a-good.yaml", service("good"));
    const bad = write("b-bad.yaml", `${service("also-good")}          colour: red\n`);
    const result = await sluice(["apply", "-f", good, "-f", bad, "--kubeconfig", kubeconfig]);
    t.equal(result.code, 2);
    t.match(result.stderr, `${bad}:13:11: spec.template.spec.containers[0].colour: unknown field`);
    t.match(result.stderr, "nothing was applied");
    t.equal(await get("good"), undefined, "the valid file was not applied either");
    // Knative's container rules for Kubernetes hold here (the controller's), with positions.
    const reserved = write(
      "reserved.yaml",
      `${service("reserved")}          ports:\n            - containerPort: 8012\n`,
    );
    const rules = await sluice(["validate", "-f", reserved, "--kubeconfig", kubeconfig]);
    t.equal(rules.code, 2);
    t.match(
      rules.stderr,
      `${reserved}:14:30: spec.template.spec.containers[0].ports[0].containerPort: 8012 is a reserved port`,
    );
  });

  await t.test("a CEL refusal: named with the server's message, nothing applied", async (t) => {
    // Passes sluice's own checks; the CRD's rule refuses a url in spec.traffic.
    const good = write("c-good.yaml", service("good"));
    const refused = write(
      "d-refused.yaml",
      `${service("refused")}  traffic:\n    - latestRevision: true\n      percent: 100\n      url: http://x\n`,
    );
    const offline = await sluice(["validate", "-f", refused]);
    t.equal(offline.code, 0, "valid offline");

    const validate = await sluice(["validate", "-f", good, "-f", refused, "--kubeconfig", kubeconfig]);
    t.equal(validate.code, 2, validate.stderr);
    t.match(validate.stderr, `${refused}:1: refused: refused by the API server:`);
    t.match(validate.stderr, "url is set by sluice in status, not in spec");
    t.notMatch(validate.stderr, "good");

    const apply = await sluice(["apply", "-f", good, "-f", refused, "--kubeconfig", kubeconfig]);
    t.equal(apply.code, 1, apply.stderr);
    t.match(apply.stderr, "refused: refused by the API server:");
    t.match(apply.stderr, "url is set by sluice in status, not in spec");
    t.match(apply.stderr, "nothing was applied");
    t.equal(apply.stdout, "");
    t.equal(await get("good"), undefined, "the service before it was not applied");
    t.equal(await get("refused"), undefined);
  });

  await t.test("validate: a dry run writes nothing", async (t) => {
    const fresh = write("fresh.yaml", service("fresh"));
    const result = await sluice(["validate", "-f", fresh, "--kubeconfig", kubeconfig]);
    t.equal(result.code, 0, result.stderr);
    t.match(result.stdout, "fresh: revision fresh-NNNNN");
    t.match(result.stdout, `valid: 1 service in 1 file (the API server at ${cp.server} accepts it: dry run)`);
    t.equal(await get("fresh"), undefined);
  });

  await t.test(
    "traffic to a revision the cluster does not have is a problem before anything is sent",
    async (t) => {
      const pinned = write(
        "pinned.yaml",
        `${service("pinned")}  traffic:\n    - revisionName: pinned-00007\n      percent: 100\n`,
      );
      const result = await sluice(["apply", "-f", pinned, "--kubeconfig", kubeconfig]);
      t.equal(result.code, 2);
      t.match(result.stderr, "pinned-00007");
      t.equal(await get("pinned"), undefined);
    },
  );

  await t.test("forbidden: the verb and the resource", async (t) => {
    // A user the API server knows, without any role: a ServiceAccount.
    await core.createNamespacedServiceAccount({
      namespace: "default",
      body: { metadata: { name: "nobody" } },
    });
    const saToken = await cp.serviceAccountToken("default", "nobody");
    const path = cp.writeKubeconfig(saToken, "nobody");
    const result = await sluice(["apply", "-f", hello, "--kubeconfig", path]);
    t.equal(result.code, 1, result.stderr);
    t.match(result.stderr, "forbidden: cannot list services.serving.sluice.dev in namespace default");
    t.match(result.stderr, "system:serviceaccount:default:nobody");
  });
});
