// The chart's eventing part as `helm template` renders it: off by default; on, it needs
// eventing.natsUrl (a clear failure naming the value); the Deployment's environment is what
// eventing's own config loader reads and accepts (Kubernetes mode, the in-cluster ingress URL,
// the router); the Service's ports; least-privilege RBAC; the CRDs in Knative's groups, kept on
// uninstall, each with its status subresource; the sources' Lease; the autoscaler's SinkBinding
// settings and RBAC with eventing on, none without.
import t from "tap";
import { loadConfig as loadAutoscalerConfig } from "../../autoscaler/config.ts";
import { TOKEN_ENV } from "../../common/api-token.ts";
import { loadTracingConfig } from "../../common/tracing.ts";
import { loadConfig } from "../../eventing/config.ts";
import { EVENTING_KINDS } from "../../eventing/kubernetes/kinds.ts";
import {
  CHART,
  containerEnv,
  deployment,
  FULLNAME,
  helm,
  helmSkip,
  type Manifest,
  NAMESPACE,
  named,
  ofKind,
  render,
} from "./chart.ts";

const skip = helmSkip();
const ON = { "eventing.enabled": true, "eventing.natsUrl": "nats://nats.nats.svc:4222" };
const NAME = `${FULLNAME}-eventing`;
/** Set by the chart for every component, read by something other than eventing's config loader. */
const CHART_ONLY = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "LOG_LEVEL", "OTEL_RESOURCE_ATTRIBUTES"];

t.test("off by default: no eventing object, no Eventing CRD", { skip }, async (t) => {
  const docs = render();
  t.same(
    docs.filter((d) => d.metadata.name?.includes("eventing") || d.kind === "CustomResourceDefinition"),
    [],
  );
});

t.test("on without eventing.natsUrl: refused, naming the value", { skip }, async (t) => {
  const result = helm(["template", "rel", CHART, "--set", "eventing.enabled=true"]);
  t.not(result.status, 0);
  t.match(result.stderr, /eventing\.natsUrl is required when eventing\.enabled is true/);
  const bad = helm([
    "template",
    "rel",
    CHART,
    "--set",
    "eventing.enabled=true",
    "--set",
    "eventing.natsUrl=nats:4222",
  ]);
  t.not(bad.status, 0);
  t.match(bad.stderr, /at '\/eventing\/natsUrl': '.*' does not match pattern/);
  const typo = helm(["template", "rel", CHART, "--set", "eventing.natsURL=nats://x:4222"]);
  t.match(typo.stderr, /at '\/eventing': additional properties 'natsURL' not allowed/);
});

t.test("the Deployment: eventing's loader reads every variable and accepts them", { skip }, async (t) => {
  const docs = render(ON);
  const pod = deployment(docs, "eventing").spec.template.spec;
  t.equal(pod.serviceAccountName, NAME);
  t.equal(pod.automountServiceAccountToken, true, "it calls the API server");
  t.equal(named(docs, "ServiceAccount", NAME).automountServiceAccountToken, true);
  const [container] = pod.containers;
  t.same(container.command, ["eventing"], "the image's eventing command");
  t.same(
    container.ports.map((p: Manifest) => [p.name, p.containerPort]),
    [
      ["ingress", 8070],
      ["webhook", 8071],
      ["admin", 9070],
    ],
  );
  t.equal(container.readinessProbe.httpGet.port, "admin");
  t.equal(container.securityContext.readOnlyRootFilesystem, true);

  const env = containerEnv(docs, container);
  const read = new Set<string>([TOKEN_ENV]);
  const proxy = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string") read.add(name);
      return typeof name === "string" ? target[name] : undefined;
    },
  });
  const config = loadConfig(proxy);
  loadTracingConfig("eventing", proxy);
  t.same(
    Object.keys(env).filter((name) => !read.has(name) && !CHART_ONLY.includes(name)),
    ["SLUICE_HOP_SECRET"],
    "every variable but the shared hop secret is one eventing reads",
  );
  t.match(config, {
    platform: "kubernetes",
    kubernetes: { ingressUrl: `http://${NAME}.${NAMESPACE}.svc.cluster.local`, kubeconfig: undefined },
    natsUrl: "nats://nats.nats.svc:4222",
    routerUrl: `http://${FULLNAME}-router.${NAMESPACE}.svc.cluster.local:80`,
    bindAddress: "0.0.0.0",
    port: 8070,
    adminPort: 9070,
    webhookPort: 8071,
    files: [],
  });
});

t.test("the Service: ingress on 80, the webhook and admin ports", { skip }, async (t) => {
  const service = named(render(ON), "Service", NAME);
  t.equal(service.spec.type, "ClusterIP");
  t.same(
    service.spec.ports.map((p: Manifest) => [p.name, p.port, p.targetPort]),
    [
      ["http", 80, "ingress"],
      ["webhook", 8071, "webhook"],
      ["admin", 9070, "admin"],
    ],
  );
  t.same(service.spec.selector, deployment(render(ON), "eventing").spec.selector.matchLabels);
});

t.test("ServiceMonitor on: eventing's /metrics (the admin port) is scraped too", { skip }, async (t) => {
  const docs = render({ ...ON, "serviceMonitor.enabled": true });
  const metrics = named(docs, "Service", `${NAME}-metrics`);
  t.same(metrics.spec.ports, [{ name: "metrics", port: 9070, targetPort: "admin", protocol: "TCP" }]);
  t.equal(metrics.metadata.labels["sluice.dev/metrics"], "true", "selected by the ServiceMonitor");
  t.same(metrics.spec.selector, deployment(docs, "eventing").spec.selector.matchLabels);
  t.notOk(
    render({ "serviceMonitor.enabled": true }).some((d) => d.metadata.name === `${NAME}-metrics`),
    "not without eventing",
  );
});

t.test(
  "RBAC: read its kinds, write their status, read Secrets by name, hold its Lease; nothing else",
  { skip },
  async (t) => {
    const docs = render(ON);
    const rules = named(docs, "ClusterRole", NAME).rules as Manifest[];
    const granted = new Set<string>();
    for (const rule of rules)
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs) granted.add(`${verb} ${resource}.${group}`);
    const wanted = new Set<string>();
    for (const kind of EVENTING_KINDS) {
      for (const verb of ["get", "list", "watch"]) wanted.add(`${verb} ${kind.plural}.${kind.group}`);
      wanted.add(`update ${kind.plural}/status.${kind.group}`);
    }
    // GitHubSources' secretToken, in the source's namespace: get (by name) only.
    wanted.add("get secrets.");
    t.same([...granted].sort(), [...wanted].sort(), "exactly the verbs eventing uses");
    const withoutGitHub = named(render({ ...ON, "eventing.githubSources": false }), "ClusterRole", NAME);
    t.notOk(
      (withoutGitHub.rules as Manifest[]).some((rule) => rule.resources.includes("secrets")),
      "githubSources=false: no Secret can be read",
    );
    const lease = named(docs, "Lease", NAME);
    t.equal(lease.metadata.namespace, NAMESPACE, "the sources' Lease, made by the chart");
    t.same(named(docs, "Role", NAME).rules, [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [NAME],
        verbs: ["get", "update"],
      },
    ]);
    t.same(named(docs, "RoleBinding", NAME).subjects, [
      { kind: "ServiceAccount", name: NAME, namespace: NAMESPACE },
    ]);
    const env = Object.fromEntries(
      (named(docs, "Deployment", NAME).spec.template.spec.containers[0].env as Manifest[]).map((v) => [
        v.name,
        v.value,
      ]),
    );
    t.equal(env.SLUICE_LEASE_NAME, NAME);
    t.equal(
      named(render({ ...ON, "eventing.leaderElection.leaseName": "mine" }), "Lease", "mine").metadata.name,
      "mine",
    );
    t.same(named(docs, "ClusterRoleBinding", NAME).subjects, [
      { kind: "ServiceAccount", name: NAME, namespace: NAMESPACE },
    ]);
    const noRbac = render({ ...ON, "rbac.create": false });
    t.notOk(
      noRbac.some((d) => d.kind.startsWith("ClusterRole") && d.metadata.name === NAME),
      "rbac.create=false",
    );
  },
);

t.test("the CRDs: Knative's groups and versions, status, kept on uninstall", { skip }, async (t) => {
  const crds = ofKind(render(ON), "CustomResourceDefinition");
  const served = crds.flatMap((crd) =>
    crd.spec.versions.map((v: Manifest) => `${crd.spec.names.kind} ${crd.spec.group}/${v.name}`),
  );
  t.same(served.sort(), [
    "Broker eventing.knative.dev/v1",
    "GitHubSource sources.knative.dev/v1alpha1",
    "KafkaSource sources.knative.dev/v1",
    "KafkaSource sources.knative.dev/v1beta1",
    "NatsSource sources.sluice.dev/v1",
    "PingSource sources.knative.dev/v1",
    "SinkBinding sources.knative.dev/v1",
    "Trigger eventing.knative.dev/v1",
  ]);
  for (const kind of EVENTING_KINDS) {
    const crd = crds.find((c) => c.metadata.name === `${kind.plural}.${kind.group}`);
    t.ok(crd, `${kind.plural}.${kind.group} rendered (the version eventing watches is served)`);
    t.ok(crd?.spec.versions.some((v: Manifest) => v.name === kind.version && v.served));
  }
  for (const crd of crds) {
    const name = crd.metadata.name;
    t.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep", `${name}: kept on uninstall`);
    t.equal(crd.metadata.labels?.["app.kubernetes.io/instance"], "rel", `${name}: labelled`);
    t.equal(crd.spec.scope, "Namespaced");
    t.equal(crd.spec.versions.filter((v: Manifest) => v.storage).length, 1, `${name}: one storage version`);
    for (const version of crd.spec.versions) {
      t.same(version.subresources, { status: {} }, `${name} ${version.name}: status subresource`);
      const schema = version.schema.openAPIV3Schema.properties;
      t.equal(schema.spec["x-kubernetes-preserve-unknown-fields"], true, `${name}: Knative's spec is open`);
      t.equal(schema.status["x-kubernetes-preserve-unknown-fields"], true);
      t.ok(
        version.additionalPrinterColumns.some((c: Manifest) => c.name === "Ready"),
        `${name}: a Ready column`,
      );
    }
  }
});

t.test("with eventing on, the autoscaler binds SinkBindings: its env and RBAC", { skip }, async (t) => {
  const docs = render(ON);
  const [container] = deployment(docs, "autoscaler").spec.template.spec.containers;
  const env = containerEnv(docs, container);
  const config = loadAutoscalerConfig({ ...env, SLUICE_TOKEN: "x".repeat(40) });
  t.same(
    config.kubernetes?.sinkBindings,
    {
      brokerIngressUrl: loadConfig(
        containerEnv(docs, deployment(docs, "eventing").spec.template.spec.containers[0]),
      ).kubernetes?.ingressUrl,
      routerUrl: `http://${FULLNAME}-router.${NAMESPACE}.svc.cluster.local:80`,
    },
    "Broker sinks at eventing's own ingress URL, Service sinks beside the router",
  );
  const verbsOn = (rendered: Manifest[]) =>
    (named(rendered, "ClusterRole", `${FULLNAME}-autoscaler`).rules as Manifest[])
      .filter((rule) => rule.resources.includes("sinkbindings"))
      .map((rule) => [rule.apiGroups, rule.verbs]);
  t.same(verbsOn(docs), [[["sources.knative.dev"], ["get", "list", "watch"]]], "read only");
  const off = render();
  t.same(verbsOn(off), [], "eventing off: no rule (the CRD is not there)");
  const offEnv = containerEnv(off, deployment(off, "autoscaler").spec.template.spec.containers[0]);
  t.equal(offEnv.SLUICE_EVENTING_INGRESS_URL, undefined, "and no SinkBinding watch");
});
