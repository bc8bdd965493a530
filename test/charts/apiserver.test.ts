// The chart and its CRDs against a real kube-apiserver (etcd + kube-apiserver built by
// scripts/tools/build.sh, on loopback, as controller-runtime's envtest runs them; no kubelet, no
// controllers: nothing here needs a pod to run). `helm install` is accepted object by object; the
// Secret survives an upgrade (lookup); the autoscaler's ServiceAccount may do what the chart
// grants and nothing else; the CEL rules refuse what they should with their messages; a Revision's
// spec cannot change; the printer columns show status; servingGroup=serving.knative.dev installs
// Knative's group and a second release is refused next to it.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { Agent, request } from "undici";
import { parseAllDocuments } from "yaml";
import { freePorts } from "../../common/free-port.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { skipUnlessTool } from "../helpers/required-tool.ts";
import { CHART, helm, helmSkip, type Manifest } from "./chart.ts";

const BIN = join(process.env.SLUICE_TOOLS_CACHE ?? join(homedir(), ".cache/sluice"), "bin");
const ETCD = join(BIN, "etcd");
const APISERVER = join(BIN, "kube-apiserver");
const skip =
  helmSkip() ||
  skipUnlessTool(
    "etcd and kube-apiserver",
    existsSync(ETCD) && existsSync(APISERVER),
    "scripts/tools/build.sh etcd kube-apiserver (needs Go; ~8 min the first time)",
  );

interface Cluster {
  url: string;
  token: string;
  kubeconfig: string;
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

/** One API call as the admin (or `as` another token); JSON in and out. */
async function api(
  cluster: Cluster,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  { contentType = "application/json", accept = "application/json" } = {},
): Promise<{ status: number; json: Manifest }> {
  const response = await request(`${cluster.url}${path}`, {
    method,
    dispatcher: insecure,
    headers: { authorization: `Bearer ${cluster.token}`, "content-type": contentType, accept },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  let json: Manifest = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { message: text };
  }
  return { status: response.statusCode, json };
}

/** Stops a child with SIGTERM, then SIGKILL after `graceMs`. */
async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** etcd and kube-apiserver on free loopback ports in a temp dir; stopped apiserver first. */
async function startCluster(t: Test): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-apiserver-"));
  const children: ChildProcess[] = [];
  let log = "";
  t.teardown(async () => {
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (bin: string, args: string[]) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => (log = (log + chunk).slice(-20_000)));
    child.stderr?.on("data", (chunk) => (log = (log + chunk).slice(-20_000)));
    children.push(child);
    return child;
  };

  const [client, peer, secure] = await freePorts(3);
  const etcdUrl = `http://127.0.0.1:${client}`;
  run(ETCD, [
    "--name=test",
    `--data-dir=${join(dir, "etcd")}`,
    "--unsafe-no-fsync",
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=test=http://127.0.0.1:${peer}`,
    "--log-level=error",
  ]);
  await waitFor(`etcd /health\n${log}`, async () => (await fetch(`${etcdUrl}/health`)).ok, {
    timeoutMs: 20_000,
  });

  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  writeFileSync(join(dir, "sa.pub"), publicKey);
  writeFileSync(join(dir, "sa.key"), privateKey);
  const token = randomBytes(24).toString("hex");
  writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n`);
  const url = `https://127.0.0.1:${secure}`;
  run(APISERVER, [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${secure}`,
    "--endpoint-reconciler-type=none",
    `--cert-dir=${join(dir, "certs")}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    `--service-account-issuer=${url}`,
    `--service-account-key-file=${join(dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(dir, "sa.key")}`,
    "--authorization-mode=RBAC",
    `--token-auth-file=${join(dir, "tokens.csv")}`,
  ]);
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server: url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "admin", user: { token } }],
      contexts: [{ name: "test", context: { cluster: "test", user: "admin" } }],
      "current-context": "test",
    }),
  );
  const cluster = { url, token, kubeconfig };
  await waitFor(
    `kube-apiserver /readyz\n${log}`,
    async () => (await api(cluster, "GET", "/readyz")).status === 200,
    { timeoutMs: 45_000, everyMs: 200 },
  );
  return cluster;
}

/** helm against the test cluster. */
const helmIn = (cluster: Cluster, args: string[]) => helm([...args, "--kubeconfig", cluster.kubeconfig]);

/** Server-side apply of a Service (strict field validation: an unknown field is an error). */
const applyService = (cluster: Cluster, group: string, service: Manifest) =>
  api(
    cluster,
    "PATCH",
    `/apis/${group}/v1/namespaces/default/services/${service.metadata.name}?fieldManager=test&fieldValidation=Strict&force=true`,
    { ...service, apiVersion: `${group}/v1`, kind: "Service" },
    { contentType: "application/apply-patch+yaml" },
  );

const service = (name: string, spec: Manifest): Manifest => ({ metadata: { name }, spec });
const template = { spec: { containers: [{ image: "ghcr.io/knative/helloworld-go" }] } };

t.test("against a real kube-apiserver", { skip, timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(t);
  const namespace = "sluice-system";

  await t.test("helm install: the CRDs and every object are accepted", async (t) => {
    const result = helmIn(cluster, [
      "install",
      "sluice",
      CHART,
      "-n",
      namespace,
      "--create-namespace",
      "--wait=false",
    ]);
    t.equal(result.status, 0, `helm install:\n${result.stdout}${result.stderr}`);
    t.match(result.stdout, /STATUS: deployed/);
    t.match(
      result.stdout,
      /kubectl get svc -n sluice-system sluice-router/,
      "NOTES.txt: how to reach the router",
    );
    for (const plural of ["services", "revisions"]) {
      const crd = await api(
        cluster,
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.serving.sluice.dev`,
      );
      const established = crd.json.status?.conditions?.find((c: Manifest) => c.type === "Established");
      t.equal(established?.status, "True", `${plural}.serving.sluice.dev established`);
    }
    for (const [path, what] of [
      [`/apis/apps/v1/namespaces/${namespace}/deployments/sluice-router`, "router Deployment"],
      [`/apis/apps/v1/namespaces/${namespace}/deployments/sluice-autoscaler`, "autoscaler Deployment"],
      [`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/sluice-autoscaler`, "the Lease"],
      [`/apis/rbac.authorization.k8s.io/v1/clusterroles/sluice-autoscaler`, "the ClusterRole"],
    ])
      t.equal((await api(cluster, "GET", path)).status, 200, what);
  });

  await t.test("the Secret keeps its values across helm upgrade (lookup)", async (t) => {
    const path = `/api/v1/namespaces/${namespace}/secrets/sluice`;
    const before = (await api(cluster, "GET", path)).json.data;
    t.equal(Buffer.from(before.token, "base64").toString().length, 48);
    const result = helmIn(cluster, [
      "upgrade",
      "sluice",
      CHART,
      "-n",
      namespace,
      "--set",
      "router.replicas=3",
    ]);
    t.equal(result.status, 0, result.stderr);
    t.same((await api(cluster, "GET", path)).json.data, before, "token and hop secret unchanged");
  });

  await t.test(
    "RBAC: the autoscaler's ServiceAccount may do what the chart grants, and no more",
    async (t) => {
      const can = async (user: string, attributes: Manifest) => {
        const review = await api(cluster, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: { user: `system:serviceaccount:${namespace}:${user}`, resourceAttributes: attributes },
        });
        return review.json.status?.allowed === true;
      };
      const autoscaler = "sluice-autoscaler";
      for (const [attributes, allowed] of [
        [{ verb: "watch", group: "serving.sluice.dev", resource: "services", namespace: "default" }, true],
        [
          {
            verb: "update",
            group: "serving.sluice.dev",
            resource: "services",
            subresource: "status",
            namespace: "default",
          },
          true,
        ],
        [{ verb: "update", group: "serving.sluice.dev", resource: "services", namespace: "default" }, false],
        [{ verb: "create", group: "serving.sluice.dev", resource: "revisions", namespace: "default" }, true],
        [
          {
            verb: "patch",
            group: "apps",
            resource: "deployments",
            subresource: "scale",
            namespace: "default",
          },
          true,
        ],
        [{ verb: "delete", group: "apps", resource: "deployments", namespace: "default" }, false],
        [{ verb: "list", group: "discovery.k8s.io", resource: "endpointslices", namespace: "default" }, true],
        [{ verb: "create", group: "", resource: "secrets", namespace: "default" }, true],
        [
          { verb: "get", group: "", resource: "secrets", name: "sluice-hop-secret", namespace: "default" },
          true,
        ],
        [{ verb: "get", group: "", resource: "secrets", namespace: "default" }, false],
        [{ verb: "get", group: "", resource: "secrets", name: "sluice", namespace }, false],
        [
          { verb: "update", group: "coordination.k8s.io", resource: "leases", name: autoscaler, namespace },
          true,
        ],
        [
          { verb: "update", group: "coordination.k8s.io", resource: "leases", name: "another", namespace },
          false,
        ],
        [{ verb: "create", group: "coordination.k8s.io", resource: "leases", namespace }, false],
      ] as const)
        t.equal(
          await can(autoscaler, attributes),
          allowed,
          `${allowed ? "may" : "may not"} ${JSON.stringify(attributes)}`,
        );
      t.equal(
        await can("sluice-router", { verb: "list", group: "", resource: "pods", namespace: "default" }),
        false,
        "router: nothing",
      );
    },
  );

  await t.test(
    "every example Service applies (strict field validation); Knative's shape is accepted",
    async (t) => {
      for (const file of readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"))) {
        for (const doc of parseAllDocuments(readFileSync(join(ROOT, "examples", file), "utf8"))) {
          const manifest = doc.toJS();
          if (manifest?.kind !== "Service") continue;
          const result = await applyService(cluster, "serving.sluice.dev", manifest);
          t.ok(
            result.status === 200 || result.status === 201,
            `${file} ${manifest.metadata.name}: ${result.json.message ?? ""}`,
          );
        }
      }
      const knativeShaped = service("knative-shaped", {
        template: {
          metadata: { annotations: { "autoscaling.knative.dev/target": "10" }, creationTimestamp: null },
          spec: {
            containerConcurrency: 0,
            timeoutSeconds: 300,
            responseStartTimeoutSeconds: 60,
            idleTimeoutSeconds: 0,
            serviceAccountName: "default",
            containers: [
              {
                image: "ghcr.io/knative/helloworld-go",
                ports: [{ containerPort: 8080, name: "h2c" }],
                env: [{ name: "FROM", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
                resources: { requests: { cpu: "100m" } },
                readinessProbe: { httpGet: { path: "/ready" }, periodSeconds: 1 },
              },
            ],
          },
        },
        traffic: [
          { latestRevision: true, percent: 80 },
          { revisionName: "knative-shaped-00001", percent: 20, tag: "old" },
          { latestRevision: true, tag: "latest" },
        ],
      });
      const result = await applyService(cluster, "serving.sluice.dev", knativeShaped);
      t.equal(result.status, 201, result.json.message);
    },
  );

  await t.test("the schema and CEL rules refuse bad Services, each with its message", async (t) => {
    const cases: [string, Manifest, RegExp][] = [
      [
        "percents summing to 90",
        { template, traffic: [{ latestRevision: true, percent: 90 }] },
        /traffic percents must sum to 100/,
      ],
      [
        "revisionName and latestRevision: true",
        { template, traffic: [{ revisionName: "x-00001", latestRevision: true, percent: 100 }] },
        /names a revisionName or sets latestRevision: true, not both/,
      ],
      [
        "latestRevision: false without revisionName",
        { template, traffic: [{ latestRevision: false, percent: 100 }] },
        /latestRevision cannot be false/,
      ],
      [
        "percent 101",
        { template, traffic: [{ latestRevision: true, percent: 101 }] },
        /should be less than or equal to 100/,
      ],
      [
        "percent -1",
        { template, traffic: [{ latestRevision: true, percent: -1 }] },
        /should be greater than or equal to 0/,
      ],
      [
        "a tag twice",
        {
          template,
          traffic: [
            { latestRevision: true, percent: 50, tag: "a" },
            { revisionName: "x-00001", percent: 50, tag: "a" },
          ],
        },
        /each traffic tag may appear only once/,
      ],
      [
        "url in spec",
        { template, traffic: [{ latestRevision: true, percent: 100, url: "http://x" }] },
        /url is set by sluice in status/,
      ],
      [
        "configurationName",
        { template, traffic: [{ configurationName: "x", percent: 100 }] },
        /configurationName is not allowed/,
      ],
      [
        "containerConcurrency -1",
        { template: { spec: { ...template.spec, containerConcurrency: -1 } } },
        /containerConcurrency: Invalid value: -1: spec.template.spec.containerConcurrency in body should be greater than or equal to 0/,
      ],
      ["no containers", { template: { spec: { containers: [] } } }, /should have at least 1 items/],
      [
        "an unknown field",
        { template: { spec: { ...template.spec, containerConcurency: 1 } } },
        /unknown field "spec.template.spec.containerConcurency"/,
      ],
    ];
    for (const [what, spec, message] of cases) {
      // A create, as `kubectl create` (server-side apply answers 500 to an unknown field).
      const result = await api(
        cluster,
        "POST",
        "/apis/serving.sluice.dev/v1/namespaces/default/services?fieldValidation=Strict",
        { apiVersion: "serving.sluice.dev/v1", kind: "Service", ...service("bad", spec) },
      );
      t.ok(result.status >= 400 && result.status < 500, `${what}: refused (${result.status})`);
      t.match(result.json.message, message, `${what}: says why`);
    }
  });

  await t.test("a Revision's spec is immutable; its metadata and status are not", async (t) => {
    const path = "/apis/serving.sluice.dev/v1/namespaces/default/revisions";
    const created = await api(cluster, "POST", path, {
      apiVersion: "serving.sluice.dev/v1",
      kind: "Revision",
      metadata: { name: "hello-00001" },
      spec: { containerConcurrency: 10, containers: [{ image: "a" }] },
    });
    t.equal(created.status, 201, created.json.message);
    const changed = await api(cluster, "PUT", `${path}/hello-00001`, {
      ...created.json,
      spec: { ...created.json.spec, containerConcurrency: 11 },
    });
    t.equal(changed.status, 422);
    t.match(changed.json.message, /a Revision's spec is immutable/);
    const labelled = await api(cluster, "PUT", `${path}/hello-00001`, {
      ...created.json,
      metadata: { ...created.json.metadata, labels: { routed: "yes" } },
    });
    t.equal(labelled.status, 200, labelled.json.message);
    const status = await api(cluster, "PUT", `${path}/hello-00001/status`, {
      ...labelled.json,
      status: { actualReplicas: 1, desiredReplicas: 1, conditions: [{ type: "Ready", status: "True" }] },
    });
    t.equal(status.status, 200, status.json.message);
  });

  await t.test(
    "status subresource and kubectl's columns: URL, LatestCreated, LatestReady, Ready, Reason",
    async (t) => {
      const path = "/apis/serving.sluice.dev/v1/namespaces/default/services/knative-shaped";
      const current = (await api(cluster, "GET", path)).json;
      const updated = await api(cluster, "PUT", `${path}/status`, {
        ...current,
        status: {
          observedGeneration: current.metadata.generation,
          url: "http://knative-shaped.default.example.com",
          latestCreatedRevisionName: "knative-shaped-00002",
          latestReadyRevisionName: "knative-shaped-00001",
          conditions: [
            { type: "Ready", status: "False", reason: "RevisionFailed", message: "image pull error" },
            { type: "ConfigurationsReady", status: "False", reason: "RevisionFailed" },
            { type: "RoutesReady", status: "True" },
          ],
          traffic: [
            {
              revisionName: "knative-shaped-00001",
              percent: 100,
              tag: "old",
              url: "http://old-knative-shaped.default.example.com",
            },
          ],
        },
      });
      t.equal(updated.status, 200, updated.json.message);
      const table = await api(cluster, "GET", path, undefined, {
        accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
      });
      const names = table.json.columnDefinitions.map((c: Manifest) => c.name);
      t.same(names.slice(0, 6), ["Name", "URL", "LatestCreated", "LatestReady", "Ready", "Reason"]);
      t.same(table.json.rows[0].cells.slice(0, 6), [
        "knative-shaped",
        "http://knative-shaped.default.example.com",
        "knative-shaped-00002",
        "knative-shaped-00001",
        "False",
        "RevisionFailed",
      ]);
      const short = await api(
        cluster,
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/services.serving.sluice.dev",
      );
      t.same(short.json.spec.names.shortNames, ["ssvc"], "kubectl get ssvc");
    },
  );

  await t.test(
    "servingGroup=serving.knative.dev: Knative manifests apply as they are; a second release is refused",
    async (t) => {
      const installed = helmIn(cluster, [
        "install",
        "kn",
        CHART,
        "-n",
        "kn",
        "--create-namespace",
        "--set",
        "servingGroup=serving.knative.dev",
      ]);
      t.equal(installed.status, 0, installed.stderr);
      t.match(installed.stdout, /kubectl get ksvc hello/);
      const knative = service("from-knative", {
        template: { spec: { containers: [{ image: "ghcr.io/knative/helloworld-go" }] } },
        traffic: [{ latestRevision: true, percent: 100 }],
      });
      const result = await applyService(cluster, "serving.knative.dev", knative);
      t.equal(result.status, 201, result.json.message);
      const bad = await applyService(
        cluster,
        "serving.knative.dev",
        service("bad", { template, traffic: [{ latestRevision: true, percent: 50 }] }),
      );
      t.match(bad.json.message, /traffic percents must sum to 100/, "the same rules in Knative's group");
      const upgraded = helmIn(cluster, [
        "upgrade",
        "kn",
        CHART,
        "-n",
        "kn",
        "--set",
        "servingGroup=serving.knative.dev",
      ]);
      t.equal(upgraded.status, 0, `its own CRDs do not stop an upgrade: ${upgraded.stderr}`);
      const rules = await api(
        cluster,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/kn-sluice-autoscaler",
      );
      t.equal(rules.json.rules[0].apiGroups[0], "serving.knative.dev");

      const second = helmIn(cluster, [
        "install",
        "other",
        CHART,
        "-n",
        "other",
        "--create-namespace",
        "--set",
        "servingGroup=serving.knative.dev",
      ]);
      t.not(second.status, 0, "refused");
      t.match(second.stderr, /the CRD services\.serving\.knative\.dev is already installed/);
      t.match(second.stderr, /Use servingGroup=serving\.sluice\.dev/);

      const uninstalled = helmIn(cluster, ["uninstall", "kn", "-n", "kn"]);
      t.equal(uninstalled.status, 0, uninstalled.stderr);
      const kept = await api(
        cluster,
        "GET",
        "/apis/serving.knative.dev/v1/namespaces/default/services/from-knative",
      );
      t.equal(kept.status, 200, "helm uninstall keeps the CRDs, and with them the users' Services");
    },
  );
});
