// The Helm chart as `helm lint` and `helm template` see it: every component's pod hardened and
// probed on its admin port, its environment accepted by the component's own config loader, RBAC
// exactly as documented, the Secret's keys, and the variations (ClusterIP, HPA, Knative's group,
// ServiceMonitor, dashboard, TLS, an existing Secret).
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { loadConfig as loadActivatorConfig } from "../../activator/config.ts";
import { hostAllowed } from "../../autoscaler/allowed-host.ts";
import { loadConfig as loadAutoscalerConfig } from "../../autoscaler/config.ts";
import { TOKEN_ENV } from "../../common/api-token.ts";
import { loadTracingConfig } from "../../common/tracing.ts";
import { LABEL, QUEUE_PORT_NAME } from "../../platform/kubernetes/names.ts";
import { loadConfig as loadRouterConfig } from "../../router/config.ts";
import { tempDir } from "../helpers/temp.ts";
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
const COMPONENTS = ["router", "activator", "autoscaler"] as const;
type Component = (typeof COMPONENTS)[number];
const LOADERS: Record<Component, (env: Record<string, string | undefined>) => unknown> = {
  router: loadRouterConfig,
  activator: loadActivatorConfig,
  autoscaler: loadAutoscalerConfig,
};
/** Variables the chart sets that no sluice config loader reads, and why. */
const CHART_ONLY: Record<string, string> = {
  POD_NAME: "referenced as $(POD_NAME)",
  POD_NAMESPACE: "the pod's namespace, for the controller",
  POD_IP: "referenced as $(POD_IP) in AUTOSCALER_ALLOWED_HOSTS",
  LOG_LEVEL: "read by common/log.ts",
  OTEL_RESOURCE_ATTRIBUTES: "read by the OpenTelemetry SDK's env detector",
  OTEL_EXPORTER_OTLP_HEADERS: "read by the OTLP exporter",
  NODE_OPTIONS: "read by node: the data path's memory settings (common/prebuilt.ts)",
  MALLOC_ARENA_MAX: "read by glibc's malloc: the data path's memory settings",
};
/** Set on one component for what it starts: the autoscaler's local platform hands its own env to
    the queue-proxies it runs, and they need the hop secret. */
const PASSED_ON: Partial<Record<Component, string[]>> = { autoscaler: ["SLUICE_HOP_SECRET"] };

function container(docs: Manifest[], component: Component): Manifest {
  const containers = deployment(docs, component).spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`${component}: ${containers.length} containers`);
  return containers[0];
}

/** The names a component's loaders read when given `env` (a Proxy records every lookup). */
function namesRead(component: Component, env: Record<string, string>): Set<string> {
  const read = new Set<string>([TOKEN_ENV]); // router and activator read it through tokenFromEnv
  const proxy = new Proxy(env, {
    get(target, name) {
      if (typeof name !== "string") return undefined;
      read.add(name);
      return target[name];
    },
  });
  LOADERS[component](proxy);
  loadTracingConfig(component, proxy);
  return read;
}

t.test("helm lint passes, with default values and with every variation", { skip }, async (t) => {
  for (const set of [
    [],
    ["--set", "router.service.type=ClusterIP,router.autoscaling.enabled=true"],
    [
      "--set",
      "servingGroup=serving.knative.dev,serviceMonitor.enabled=true,grafanaDashboard.enabled=true,prometheusRule.enabled=true",
    ],
    ["--set", "router.tls.secretName=router-tls,auth.existingSecret=mine"],
  ]) {
    const result = helm(["lint", "--strict", CHART, ...set]);
    t.equal(result.status, 0, `helm lint --strict ${set.join(" ")}:\n${result.stdout}${result.stderr}`);
  }
});

t.test("default values render the data plane and nothing optional", { skip }, async (t) => {
  const docs = render();
  const kinds = docs.map((doc) => `${doc.kind}/${doc.metadata.name}`).sort();
  t.same(kinds, [
    `ClusterRole/${FULLNAME}-autoscaler`,
    `ClusterRoleBinding/${FULLNAME}-autoscaler`,
    `Deployment/${FULLNAME}-activator`,
    `Deployment/${FULLNAME}-autoscaler`,
    `Deployment/${FULLNAME}-router`,
    `Lease/${FULLNAME}-autoscaler`,
    `PodDisruptionBudget/${FULLNAME}-activator`,
    `PodDisruptionBudget/${FULLNAME}-router`,
    `Role/${FULLNAME}-autoscaler`,
    `RoleBinding/${FULLNAME}-autoscaler`,
    `Secret/${FULLNAME}`,
    `Service/${FULLNAME}-activator`,
    `Service/${FULLNAME}-autoscaler`,
    `Service/${FULLNAME}-router`,
    `ServiceAccount/${FULLNAME}-activator`,
    `ServiceAccount/${FULLNAME}-autoscaler`,
    `ServiceAccount/${FULLNAME}-router`,
  ]);
  for (const doc of docs) {
    t.equal(
      doc.metadata.labels?.["app.kubernetes.io/instance"],
      "rel",
      `${doc.kind} ${doc.metadata.name}: labels`,
    );
    if (!doc.kind.startsWith("Cluster")) t.equal(doc.metadata.namespace, NAMESPACE, `${doc.kind} namespace`);
  }
  t.equal(named(docs, "Service", `${FULLNAME}-router`).spec.type, "LoadBalancer");
});

t.test(
  "every pod runs non-root, read-only, without capabilities, under RuntimeDefault seccomp",
  { skip },
  async (t) => {
    const docs = render();
    for (const component of COMPONENTS) {
      const pod = deployment(docs, component).spec.template.spec;
      t.equal(pod.securityContext.runAsNonRoot, true, `${component}: pod runAsNonRoot`);
      t.ok(pod.securityContext.runAsUser > 0, `${component}: pod runAsUser not root`);
      t.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault", `${component}: pod seccomp`);
      t.equal(pod.serviceAccountName, `${FULLNAME}-${component}`, `${component}: its own ServiceAccount`);
      t.equal(
        pod.automountServiceAccountToken,
        component === "autoscaler",
        `${component}: token mounted only where used`,
      );
      const c = container(docs, component);
      t.same(c.command, [component], `${component}: the image's command`);
      t.equal(c.image, "sluice:0.1.0", `${component}: image defaults to appVersion`);
      t.same(
        c.securityContext,
        {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        `${component}: container securityContext`,
      );
      for (const bound of ["requests", "limits"])
        for (const resource of ["cpu", "memory"])
          t.ok(c.resources?.[bound]?.[resource], `${component}: resources.${bound}.${resource}`);
      // The read-only root needs somewhere writable: /tmp, and the autoscaler's state directory.
      const mounts = Object.fromEntries(c.volumeMounts.map((m: Manifest) => [m.mountPath, m.name]));
      t.equal(mounts["/tmp"], "tmp", `${component}: /tmp is an emptyDir`);
      const volumes = Object.fromEntries(pod.volumes.map((v: Manifest) => [v.name, v]));
      for (const name of Object.values(mounts))
        t.ok(volumes[name]?.emptyDir, `${component}: ${name} is an emptyDir`);
    }
    const autoscaler = container(docs, "autoscaler");
    const env = containerEnv(docs, autoscaler);
    t.ok(
      autoscaler.volumeMounts.some((m: Manifest) => m.mountPath === env.SLUICE_STATE_DIR),
      "the autoscaler's state directory is mounted",
    );
  },
);

t.test(
  "probes hit /healthz and /readyz on each component's admin port, which no Service exposes",
  { skip },
  async (t) => {
    const docs = render();
    const adminEnv: Record<Component, string> = {
      router: "ROUTER_ADMIN_PORT",
      activator: "ACTIVATOR_ADMIN_PORT",
      autoscaler: "AUTOSCALER_PORT", // the autoscaler's probes are on its API port (exempt from the token)
    };
    for (const component of COMPONENTS) {
      const c = container(docs, component);
      const env = containerEnv(docs, c);
      const portByName = Object.fromEntries(c.ports.map((p: Manifest) => [p.name, p.containerPort]));
      for (const [probe, path] of [
        ["livenessProbe", "/healthz"],
        ["readinessProbe", "/readyz"],
        ["startupProbe", "/healthz"],
      ]) {
        const get = c[probe]?.httpGet;
        t.equal(get?.path, path, `${component}: ${probe} path`);
        t.equal(
          String(portByName[get?.port]),
          env[adminEnv[component]],
          `${component}: ${probe} on ${adminEnv[component]}`,
        );
      }
      if (component !== "autoscaler") {
        const service = named(docs, "Service", `${FULLNAME}-${component}`);
        const admin = String(portByName.admin);
        t.notOk(
          service.spec.ports.some(
            (p: Manifest) => p.targetPort === "admin" || String(p.targetPort) === admin,
          ),
          `${component}: the Service does not expose the admin port`,
        );
      }
    }
  },
);

t.test("each component's env is what its own config loader reads, and it accepts it", { skip }, async (t) => {
  const docs = render({
    "otel.endpoint": "http://collector.observability:4318",
    "otel.sampler": "traceidratio",
    "otel.samplerArg": 0.25,
  });
  const secret = named(docs, "Secret", FULLNAME).data;
  const hopSecret = Buffer.from(secret["hop-secret"], "base64").toString();
  const token = Buffer.from(secret.token, "base64").toString();
  const envs = Object.fromEntries(
    COMPONENTS.map((c) => [c, containerEnv(docs, container(docs, c))]),
  ) as Record<Component, Record<string, string>>;

  for (const component of COMPONENTS) {
    const env = envs[component];
    const read = namesRead(component, env);
    const unread = Object.keys(env).filter(
      (name) => !read.has(name) && !(name in CHART_ONLY) && !PASSED_ON[component]?.includes(name),
    );
    t.same(unread, [], `${component}: every variable the chart sets is one sluice reads`);
    t.equal(env.SLUICE_TOKEN, token, `${component}: SLUICE_TOKEN from the Secret`);
    t.equal(env.SLUICE_HOP_SECRET, hopSecret, `${component}: SLUICE_HOP_SECRET from the Secret`);
    t.equal(
      env.OTEL_EXPORTER_OTLP_ENDPOINT,
      "http://collector.observability:4318",
      `${component}: OTLP endpoint`,
    );
    const tracing = loadTracingConfig(component, env);
    t.equal(tracing.url, "http://collector.observability:4318/v1/traces", `${component}: traces URL`);
    t.equal(tracing.samplerRatio, 0.25, `${component}: sampler ratio`);
  }

  const router = loadRouterConfig(envs.router);
  t.match(router, { port: 8080, adminPort: 9080, bindAddress: "0.0.0.0", hopSecret, pathRouting: true });
  t.equal(router.autoscalerUrl, `http://${FULLNAME}-autoscaler.${NAMESPACE}.svc.cluster.local:8090`);
  t.equal(router.activatorUrl, `http://${FULLNAME}-activator.${NAMESPACE}.svc.cluster.local:8081`);
  t.equal(router.drainTimeoutMs, 330_000);
  const routerPod = deployment(docs, "router").spec.template.spec;
  t.ok(routerPod.terminationGracePeriodSeconds > 330, "the router's grace period outlasts its drain");

  const activator = loadActivatorConfig(envs.activator);
  t.match(activator, { port: 8081, adminPort: 9081, bindAddress: "0.0.0.0", hopSecret, name: "pod-1" });
  t.equal(activator.autoscalerUrl, router.autoscalerUrl);

  const autoscaler = loadAutoscalerConfig(envs.autoscaler);
  t.match(autoscaler, {
    port: 8090,
    bindAddress: "0.0.0.0",
    token,
    domain: "example.com",
    stateDir: "/var/lib/sluice",
  });
  // The API answers the URL router and activator use (Host = the Service's FQDN), and the pod IP
  // (Prometheus), nothing else but loopback.
  t.ok(hostAllowed(new URL(router.autoscalerUrl).host, autoscaler.allowedHosts), "router's Host allowed");
  t.ok(hostAllowed("10.1.2.3:8090", autoscaler.allowedHosts), "the pod IP allowed");
  t.notOk(hostAllowed("evil.example:8090", autoscaler.allowedHosts), "other names refused");
  t.notOk(autoscaler.allowedHosts.includes("*"));
  t.equal(envs.autoscaler.SLUICE_SERVING_GROUP, "serving.sluice.dev");
  t.equal(envs.autoscaler.SLUICE_LEASE_NAME, `${FULLNAME}-autoscaler`);

  const noPodIpDocs = render({ "autoscaler.allowPodIPHost": false });
  const noPodIp = loadAutoscalerConfig(containerEnv(noPodIpDocs, container(noPodIpDocs, "autoscaler")));
  t.notOk(hostAllowed("10.1.2.3:8090", noPodIp.allowedHosts), "allowPodIPHost=false leaves the pod IP out");
  t.ok(hostAllowed(new URL(router.autoscalerUrl).host, noPodIp.allowedHosts));
});

t.test(
  "RBAC: the autoscaler gets exactly the documented verbs; router and activator none",
  { skip },
  async (t) => {
    for (const group of ["serving.sluice.dev", "serving.knative.dev"]) {
      const docs = render({ servingGroup: group });
      const rules = named(docs, "ClusterRole", `${FULLNAME}-autoscaler`).rules.map((rule: Manifest) => ({
        apiGroups: rule.apiGroups,
        resources: rule.resources,
        verbs: rule.verbs,
        ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}),
      }));
      t.same(
        rules,
        [
          { apiGroups: [group], resources: ["services"], verbs: ["get", "list", "watch"] },
          { apiGroups: [group], resources: ["services/status"], verbs: ["update"] },
          {
            apiGroups: [group],
            resources: ["revisions"],
            verbs: ["get", "list", "watch", "create", "delete"],
          },
          { apiGroups: [group], resources: ["revisions/status"], verbs: ["update"] },
          {
            apiGroups: [group],
            resources: ["services/finalizers", "revisions/finalizers"],
            verbs: ["update"],
          },
          {
            apiGroups: ["apps"],
            resources: ["deployments"],
            verbs: ["get", "list", "watch", "create", "update"],
          },
          { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
          {
            apiGroups: ["autoscaling"],
            resources: ["horizontalpodautoscalers"],
            verbs: ["get", "list", "watch", "create", "update"],
          },
          { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch", "create", "update"] },
          { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
          {
            apiGroups: [""],
            resources: ["secrets"],
            verbs: ["get", "update"],
            resourceNames: ["sluice-hop-secret"],
          },
        ],
        `ClusterRole rules with servingGroup ${group}`,
      );
      const allVerbs = rules.flatMap((rule: Manifest) => rule.verbs);
      t.notOk(allVerbs.includes("*"), "no wildcard verbs");
      t.notOk(
        rules.some(
          (rule: Manifest) =>
            rule.resources.includes("secrets") &&
            rule.verbs.some((verb: string) => verb !== "create") &&
            !rule.resourceNames,
        ),
        "no Secret but the hop secret's copies can be read or written",
      );
    }
    const docs = render();
    const role = named(docs, "Role", `${FULLNAME}-autoscaler`);
    t.same(role.rules, [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [`${FULLNAME}-autoscaler`],
        verbs: ["get", "update"],
      },
    ]);
    t.ok(named(docs, "Lease", `${FULLNAME}-autoscaler`), "the chart creates the Lease it grants");
    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      const binding = ofKind(docs, kind)[0];
      t.same(binding.subjects, [
        { kind: "ServiceAccount", name: `${FULLNAME}-autoscaler`, namespace: NAMESPACE },
      ]);
    }
    for (const component of ["router", "activator"])
      t.equal(named(docs, "ServiceAccount", `${FULLNAME}-${component}`).automountServiceAccountToken, false);
    t.same(ofKind(render({ "rbac.create": false }), "ClusterRole"), [], "rbac.create=false renders no RBAC");
  },
);

t.test(
  "the Secret: token and hop-secret, random and long unless given; or an existing Secret",
  { skip },
  async (t) => {
    const first = named(render(), "Secret", FULLNAME);
    t.same(Object.keys(first.data).sort(), ["hop-secret", "token"]);
    const decoded = (doc: Manifest, key: string) => Buffer.from(doc.data[key], "base64").toString();
    t.equal(decoded(first, "token").length, 48);
    t.equal(decoded(first, "hop-secret").length, 48);
    t.not(
      decoded(first, "token"),
      decoded(named(render(), "Secret", FULLNAME), "token"),
      "random per render (no cluster to look up)",
    );

    const given = named(
      render({ "auth.token": "t".repeat(20), "auth.hopSecret": "h".repeat(16) }),
      "Secret",
      FULLNAME,
    );
    t.equal(decoded(given, "token"), "t".repeat(20));
    t.equal(decoded(given, "hop-secret"), "h".repeat(16));

    const docs = render({ "auth.existingSecret": "mine" });
    t.same(ofKind(docs, "Secret"), [], "no Secret rendered");
    for (const component of COMPONENTS) {
      const refs = container(docs, component)
        .env.filter((e: Manifest) => e.valueFrom?.secretKeyRef)
        .map((e: Manifest) => `${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
      t.same(
        refs,
        ["SLUICE_TOKEN=mine/token", "SLUICE_HOP_SECRET=mine/hop-secret"],
        `${component} reads the existing Secret`,
      );
    }
    // Kept across upgrades by lookup: the template reads the Secret in the cluster first.
    const template = readFileSync(join(CHART, "templates/secret.yaml"), "utf8");
    t.match(template, /lookup "v1" "Secret" \.Release\.Namespace \$name/);
  },
);

t.test(
  "router Service: LoadBalancer by default, ClusterIP by value; HPA replaces replicas",
  { skip },
  async (t) => {
    const lb = render({ "router.service.loadBalancerSourceRanges[0]": "10.0.0.0/8" });
    t.match(named(lb, "Service", `${FULLNAME}-router`).spec, {
      type: "LoadBalancer",
      loadBalancerSourceRanges: ["10.0.0.0/8"],
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    });
    t.same(ofKind(lb, "HorizontalPodAutoscaler"), []);
    t.equal(deployment(lb, "router").spec.replicas, 2);

    const docs = render({ "router.service.type": "ClusterIP", "router.autoscaling.enabled": true });
    const service = named(docs, "Service", `${FULLNAME}-router`).spec;
    t.equal(service.type, "ClusterIP");
    t.notOk("loadBalancerSourceRanges" in service);
    const hpa = named(docs, "HorizontalPodAutoscaler", `${FULLNAME}-router`).spec;
    t.same(hpa.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: `${FULLNAME}-router` });
    t.match(hpa, { minReplicas: 2, maxReplicas: 10 });
    t.equal(hpa.metrics[0].resource.target.averageUtilization, 70);
    t.notOk("replicas" in deployment(docs, "router").spec, "the HPA owns the replica count");
    t.same(
      ofKind(render({ "router.pdb.enabled": false, "activator.pdb.enabled": false }), "PodDisruptionBudget"),
      [],
    );
    // One pod with minAvailable 1 would block every node drain: no PDB for a single pod.
    const single = render({ "router.replicas": 1, "activator.replicas": 1 });
    t.same(ofKind(single, "PodDisruptionBudget"), [], "no PDB for a single pod");
    const scaled = render({
      "router.replicas": 1,
      "router.autoscaling.enabled": true,
      "router.autoscaling.minReplicas": 3,
    });
    t.same(
      ofKind(scaled, "PodDisruptionBudget").map((pdb) => pdb.metadata.name),
      [`${FULLNAME}-router`, `${FULLNAME}-activator`],
      "the HPA's minimum counts",
    );
  },
);

t.test("router TLS from a Secret: the https port, the files and the env", { skip }, async (t) => {
  const docs = render({ "router.tls.secretName": "router-tls" });
  const env = containerEnv(docs, container(docs, "router"));
  t.match(env, { ROUTER_TLS_PORT: "8443", ROUTER_TLS_CERT_FILE: "/etc/sluice/tls/tls.crt" });
  const pod = deployment(docs, "router").spec.template.spec;
  t.ok(pod.volumes.some((v: Manifest) => v.secret?.secretName === "router-tls"));
  t.ok(named(docs, "Service", `${FULLNAME}-router`).spec.ports.some((p: Manifest) => p.port === 443));
});

t.test(
  "servingGroup serving.knative.dev: Knative-group CRDs, kept on uninstall, and the controller told",
  { skip },
  async (t) => {
    const docs = render({ servingGroup: "serving.knative.dev" });
    const crds = ofKind(docs, "CustomResourceDefinition");
    t.same(crds.map((crd) => crd.metadata.name).sort(), [
      "revisions.serving.knative.dev",
      "services.serving.knative.dev",
    ]);
    for (const crd of crds) {
      t.equal(crd.spec.group, "serving.knative.dev");
      t.equal(crd.metadata.annotations["helm.sh/resource-policy"], "keep");
    }
    const services = crds.find((crd) => crd.spec.names.plural === "services") as Manifest;
    t.same(services.spec.names.shortNames, ["ksvc", "kservice"]);
    // Same schema as crds/services.yaml, only the group differs.
    const schema = services.spec.versions[0].schema.openAPIV3Schema;
    t.ok(schema.properties.spec.properties.traffic["x-kubernetes-validations"].length > 0);
    t.equal(containerEnv(docs, container(docs, "autoscaler")).SLUICE_SERVING_GROUP, "serving.knative.dev");
    t.same(ofKind(render(), "CustomResourceDefinition"), [], "the default group's CRDs come from crds/ only");
  },
);

t.test(
  "ServiceMonitor: all three components' /metrics, the autoscaler's with the token",
  { skip },
  async (t) => {
    const docs = render({ "serviceMonitor.enabled": true, "serviceMonitor.labels.release": "prom" });
    const monitor = named(docs, "ServiceMonitor", FULLNAME);
    t.equal(monitor.metadata.labels.release, "prom");
    const endpoint = monitor.spec.endpoints[0];
    t.match(endpoint, {
      port: "metrics",
      path: "/metrics",
      authorization: { credentials: { name: FULLNAME, key: "token" } },
    });
    const selected = ofKind(docs, "Service").filter((service) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels[k] === v),
    );
    const targets = Object.fromEntries(
      selected.map((s) => [s.metadata.labels["app.kubernetes.io/component"], s.spec.ports[0]]),
    );
    t.same(Object.keys(targets).sort(), ["activator", "autoscaler", "router"]);
    t.match(targets, {
      router: { name: "metrics", port: 9080, targetPort: "admin" },
      activator: { name: "metrics", port: 9081, targetPort: "admin" },
      autoscaler: { name: "metrics", port: 8090, targetPort: "http" },
    });
    t.same(ofKind(render(), "ServiceMonitor"), []);
  },
);

t.test(
  "prometheus.io annotations: each component's pod names its /metrics port; off with the value",
  { skip },
  async (t) => {
    const ports: Record<Component, string> = { router: "9080", activator: "9081", autoscaler: "8090" };
    const annotated = render();
    for (const component of COMPONENTS) {
      const annotations = deployment(annotated, component).spec.template.metadata.annotations;
      t.match(
        annotations,
        {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": ports[component],
          "prometheus.io/path": "/metrics",
        },
        component,
      );
      const container = deployment(annotated, component).spec.template.spec.containers[0];
      t.ok(
        container.ports.some(
          (port: { containerPort: number }) => String(port.containerPort) === ports[component],
        ),
        `${component}: the annotated port is a container port`,
      );
    }
    const moved = render({ "router.ports.admin": 9999 });
    t.equal(deployment(moved, "router").spec.template.metadata.annotations["prometheus.io/port"], "9999");
    const off = render({ "prometheusAnnotations.enabled": false });
    for (const component of COMPONENTS) {
      const annotations = deployment(off, component).spec.template.metadata.annotations;
      t.same(
        Object.keys(annotations).filter((key) => key.startsWith("prometheus.io/")),
        [],
        `${component}: none when disabled`,
      );
    }
  },
);

t.test(
  "PodMonitor: every revision pod's queue-proxy, job queue-proxy, by label and port name",
  { skip },
  async (t) => {
    t.same(ofKind(render(), "PodMonitor"), [], "off by default");
    const docs = render({
      "podMonitor.enabled": true,
      "podMonitor.labels.release": "prom",
      "podMonitor.interval": "15s",
    });
    const monitor = named(docs, "PodMonitor", `${FULLNAME}-queue-proxy`);
    t.equal(monitor.metadata.namespace, NAMESPACE);
    t.equal(monitor.metadata.labels.release, "prom");
    t.same(
      monitor.spec.selector,
      {
        matchExpressions: [{ key: LABEL.revision, operator: "Exists" }],
      },
      "the label the Kubernetes platform puts on revision pods",
    );
    t.same(monitor.spec.namespaceSelector, { any: true }, "revision pods of every namespace");
    t.match(monitor.spec.podMetricsEndpoints, [
      {
        port: QUEUE_PORT_NAME.metrics, // the queue-proxy container's port, as the platform names it
        path: "/metrics",
        interval: "15s",
        honorLabels: true,
        relabelings: [{ targetLabel: "job", replacement: "queue-proxy" }],
      },
    ]);
    const limited = named(
      render({ "podMonitor.enabled": true, "podMonitor.namespaces[0]": "apps" }),
      "PodMonitor",
      `${FULLNAME}-queue-proxy`,
    );
    t.same(limited.spec.namespaceSelector, { matchNames: ["apps"] });
  },
);

t.test(
  "Grafana dashboard ConfigMap: the sidecar's label and dashboards/sluice.json as it is",
  { skip },
  async (t) => {
    const docs = render({ "grafanaDashboard.enabled": true });
    const map = named(docs, "ConfigMap", `${FULLNAME}-dashboard`);
    t.equal(map.metadata.labels.grafana_dashboard, "1");
    const dashboard = JSON.parse(map.data["sluice.json"]);
    t.same(dashboard, JSON.parse(readFileSync(join(CHART, "dashboards", "sluice.json"), "utf8")));
    t.ok(dashboard.panels.length > 10, "the panels (test/observability/ evaluates every query)");
    t.same(
      dashboard.templating.list.map((v: { name: string }) => v.name),
      ["datasource", "namespace", "service", "revision"],
    );
  },
);

t.test(
  "PrometheusRule: every group of prometheus/*.yaml, extra alert labels, off by default",
  { skip },
  async (t) => {
    t.same(ofKind(render(), "PrometheusRule"), []);
    const docs = render({
      "prometheusRule.enabled": true,
      "prometheusRule.labels.release": "prom",
      "prometheusRule.additionalAlertLabels.team": "platform",
    });
    const rule = named(docs, "PrometheusRule", FULLNAME);
    t.equal(rule.metadata.namespace, NAMESPACE);
    t.equal(rule.metadata.labels.release, "prom");
    const groups = rule.spec.groups as { name: string; rules: Record<string, unknown>[] }[];
    const names = groups.map((group) => group.name).sort();
    t.same(names, ["sluice.activator", "sluice.alerts", "sluice.revision"]);
    const rules = groups.flatMap((group) => group.rules);
    const alerts = rules.filter((r) => "alert" in r);
    t.ok(alerts.length > 0 && rules.some((r) => "record" in r), "alerts and recording rules");
    for (const alert of alerts) {
      t.match(alert.labels, { team: "platform", severity: /.+/ }, `${alert.alert}: labels`);
      t.match(
        alert.annotations,
        { summary: /\{\{ \$labels\./ },
        `${alert.alert}: templates left to Prometheus`,
      );
    }
    for (const r of rules.filter((r) => "record" in r)) t.notOk(r.labels, `${r.record}: no alert labels`);
  },
);

t.test("NOTES.txt says how to reach the router and apply a first Service", { skip }, async (t) => {
  // helm template does not render NOTES.txt: render it as a ConfigMap from a copy of the chart.
  const dir = tempDir(t, "sluice-notes-");
  const chart = join(dir, "sluice");
  cpSync(CHART, chart, { recursive: true });
  const notes = readFileSync(join(chart, "templates/NOTES.txt"), "utf8");
  rmSync(join(chart, "templates/NOTES.txt"));
  writeFileSync(join(chart, "templates/_notes.tpl"), `{{- define "notes" -}}\n${notes}\n{{- end -}}\n`);
  writeFileSync(
    join(chart, "templates/notes.yaml"),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes" . | quote }}\n',
  );
  const notesFor = (set: string[]) => {
    const result = helm([
      "template",
      "rel",
      chart,
      "-n",
      NAMESPACE,
      "--show-only",
      "templates/notes.yaml",
      ...set,
    ]);
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout.replace(/\\n/g, "\n");
  };
  const lb = notesFor([]);
  t.match(lb, `kubectl get svc -n ${NAMESPACE} ${FULLNAME}-router`);
  t.match(lb, "apiVersion: serving.sluice.dev/v1");
  t.match(lb, "kubectl apply -f -");
  t.match(lb, "kubectl get ssvc hello");
  t.match(lb, "Host: hello.default.example.com");
  const clusterIp = notesFor(["--set", "router.service.type=ClusterIP,servingGroup=serving.knative.dev"]);
  t.match(clusterIp, `kubectl port-forward -n ${NAMESPACE} svc/${FULLNAME}-router`);
  t.match(clusterIp, "apiVersion: serving.knative.dev/v1");
  t.match(clusterIp, "kubectl get ksvc hello");
});
