import t from "tap";
import { containerProblems } from "../../../platform/kubernetes/container-rules.ts";
import {
  drainTimeoutSeconds,
  queueProxyProbe,
  revisionDeployment,
  terminationGraceSeconds,
} from "../../../platform/kubernetes/deployment.ts";
import { KNATIVE_GROUP } from "../../../platform/kubernetes/names.ts";
import { loadManifests } from "../../../serving/load.ts";
import type { ServiceManifest } from "../../../serving/manifest.ts";
import { type Revision, revisionFor } from "../../../serving/revisions.ts";

const KNATIVE_SERVICE = `
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: shop
  namespace: prod
spec:
  template:
    metadata:
      labels:
        team: checkout
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
      containerConcurrency: 10
      timeoutSeconds: 120
      responseStartTimeoutSeconds: 30
      serviceAccountName: shop-runner
      imagePullSecrets:
        - name: registry-credentials
      nodeSelector:
        pool: web
      tolerations:
        - key: dedicated
          operator: Equal
          value: web
          effect: NoSchedule
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    app: shop
      securityContext:
        runAsNonRoot: true
        fsGroup: 2000
      volumes:
        - name: config
          configMap:
            name: shop-config
        - name: tls
          secret:
            secretName: shop-tls
      containers:
        - image: ghcr.io/acme/shop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          args: ["--serve"]
          ports:
            - containerPort: 9000
          env:
            - name: LOG_LEVEL
              value: debug
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: shop-db
                  key: password
          envFrom:
            - configMapRef:
                name: shop-env
            - secretRef:
                name: shop-secrets
          resources:
            requests:
              cpu: 250m
              memory: 256Mi
            limits:
              memory: 512Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: config
              mountPath: /etc/shop
              readOnly: true
            - name: tls
              mountPath: /etc/tls
              readOnly: true
          readinessProbe:
            httpGet:
              path: /ready
            periodSeconds: 2
          livenessProbe:
            tcpSocket: {}
            initialDelaySeconds: 5
`;

function revisionOf(yaml: string): Revision {
  const { services, problems } = loadManifests(yaml, "svc.yaml");
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  const result = revisionFor(services[0].manifest as ServiceManifest, [], 1_700_000_000_000);
  if ("error" in result) throw new Error(result.error);
  return result.revision;
}

const queueProxy = { image: "ghcr.io/sluice/sluice:0.1.0", hopSecret: { name: "sluice-hop", key: "secret" } };

/** `"hpa"`: no replicas (an HPA owns the count). */
function build(revision: Revision, scale: number | "hpa" = 1) {
  const replicas = scale === "hpa" ? undefined : scale;
  const result = revisionDeployment({ revision, revisionUid: "uid-rev-1", replicas, queueProxy });
  if ("problems" in result) throw new Error(JSON.stringify(result.problems));
  return result.deployment;
}

function env(container: { env?: { name: string; value?: string; valueFrom?: unknown }[] } | undefined) {
  return Object.fromEntries((container?.env ?? []).map((v) => [v.name, v.value ?? v.valueFrom]));
}

t.test("a Knative manifest's pod spec passes into the Deployment unchanged", async (t) => {
  const revision = revisionOf(KNATIVE_SERVICE);
  const deployment = build(revision, 2);
  const source = revision.template.spec;
  const pod = deployment.spec?.template.spec;
  t.equal(deployment.metadata?.name, "shop-00001-deployment");
  t.equal(deployment.metadata?.namespace, "prod");
  t.same(pod?.volumes, source.volumes);
  t.same(pod?.imagePullSecrets, source.imagePullSecrets);
  t.same(pod?.nodeSelector, source.nodeSelector);
  t.same(pod?.tolerations, source.tolerations);
  t.same(pod?.affinity, source.affinity);
  t.same(pod?.securityContext, source.securityContext);
  t.equal(pod?.serviceAccountName, "shop-runner");
  t.equal(pod?.enableServiceLinks, false, "Knative's default");
  for (const key of ["containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds"])
    t.notOk(key in (pod ?? {}), `${key} is not a PodSpec field`);

  const user = pod?.containers[0];
  const written = source.containers[0];
  t.equal(user?.name, "user-container");
  t.equal(user?.image, written.image);
  t.same(user?.args, ["--serve"]);
  t.same(user?.envFrom, written.envFrom);
  t.same(user?.resources, written.resources);
  t.same(user?.securityContext, written.securityContext);
  t.same(user?.volumeMounts, written.volumeMounts);
  t.same(user?.ports, [{ name: "user-port", containerPort: 9000, protocol: "TCP" }]);
  t.same(env(user), {
    LOG_LEVEL: "debug",
    DB_PASSWORD: { secretKeyRef: { name: "shop-db", key: "password" } },
    PORT: "9000",
    K_SERVICE: "shop",
    K_CONFIGURATION: "shop",
    K_REVISION: "shop-00001",
  });
  t.equal(user?.readinessProbe, undefined, "readiness goes through the queue-proxy");
  t.equal(user?.terminationMessagePolicy, "FallbackToLogsOnError", "a crash's last lines reach the status");
  t.same(
    user?.livenessProbe,
    { tcpSocket: { port: 9000 }, initialDelaySeconds: 5 },
    "probe port made concrete",
  );
  t.equal(
    pod?.terminationGracePeriodSeconds,
    160,
    "the queue-proxy's drain timeout (timeoutSeconds + 30) + time for the app to stop",
  );
});

t.test("the queue-proxy sidecar gets what queue-proxy/config.ts reads", async (t) => {
  const deployment = build(revisionOf(KNATIVE_SERVICE), 2);
  const pod = deployment.spec?.template.spec;
  t.equal(pod?.containers.length, 2);
  const sidecar = pod?.containers[1];
  t.equal(sidecar?.name, "queue-proxy");
  t.equal(sidecar?.image, "ghcr.io/sluice/sluice:0.1.0");
  t.same(sidecar?.command, ["queue-proxy"]);
  t.same(
    sidecar?.ports?.map((p) => p.containerPort),
    [8012, 8022, 9091],
  );
  t.same(env(sidecar), {
    QUEUE_SERVING_PORT: "8012",
    QUEUE_ADMIN_PORT: "8022",
    QUEUE_METRICS_PORT: "9091",
    QUEUE_BIND_ADDRESS: "0.0.0.0",
    USER_PORT: "9000",
    USER_PROTOCOL: "http1",
    CONTAINER_CONCURRENCY: "10",
    REVISION_TIMEOUT_SECONDS: "120",
    QUEUE_DRAIN_QUIET_SECONDS: "5",
    REVISION_RESPONSE_START_TIMEOUT_SECONDS: "30",
    SERVING_READINESS_PROBE: JSON.stringify({ httpGet: { path: "/ready", port: 9000 }, periodSeconds: 2 }),
    SERVING_SERVICE: "shop",
    SERVING_CONFIGURATION: "shop",
    SERVING_NAMESPACE: "prod",
    SERVING_REVISION: "shop-00001",
    SERVING_POD: { fieldRef: { fieldPath: "metadata.name" } },
    SLUICE_HOP_SECRET: { secretKeyRef: { name: "sluice-hop", key: "secret", optional: false } },
    NODE_OPTIONS: "--max-semi-space-size=2",
    MALLOC_ARENA_MAX: "1",
    MALLOC_TRIM_THRESHOLD_: "65536",
  });
  t.same(sidecar?.readinessProbe?.httpGet, { path: "/readyz", port: 8022 });
  t.equal(sidecar?.securityContext?.readOnlyRootFilesystem, true);
  t.same(sidecar?.securityContext?.capabilities?.drop, ["ALL"]);
  t.notOk(
    pod?.containers[0].env?.some((v) => v.name === "SLUICE_HOP_SECRET"),
    "the hop secret is the data plane's, never the app's",
  );
});

t.test("the queue-proxy's environment loads with its own config parser", async (t) => {
  const { loadConfig } = await import("../../../queue-proxy/config.ts");
  const sidecar = build(revisionOf(KNATIVE_SERVICE)).spec?.template.spec?.containers[1];
  const source: Record<string, string> = { SLUICE_HOP_SECRET: "a-secret-of-enough-length", SERVING_POD: "p" };
  for (const variable of sidecar?.env ?? [])
    if (variable.value !== undefined) source[variable.name] = variable.value;
  const config = loadConfig(source);
  t.equal(config.userPort, 9000);
  t.equal(config.servingPort, 8012);
  t.equal(config.adminPort, 8022);
  t.equal(config.containerConcurrency, 10);
  t.equal(config.timeoutMs, 120_000);
  t.same(config.readinessProbe, {
    kind: "http",
    host: "127.0.0.1",
    port: 9000,
    path: "/ready",
    periodMs: 2000,
    timeoutMs: 1000,
  });
});

t.test("labels, owner reference and selector", async (t) => {
  const deployment = build(revisionOf(KNATIVE_SERVICE), 2);
  const labels = deployment.metadata?.labels ?? {};
  t.equal(labels["serving.sluice.dev/service"], "shop");
  t.equal(labels["serving.sluice.dev/revision"], "shop-00001");
  t.equal(labels["serving.sluice.dev/namespace"], "prod");
  t.equal(labels.team, "checkout", "the template's labels pass on");
  t.notOk("serving.knative.dev/service" in labels, "Knative's labels only when serving its group");
  t.same(deployment.spec?.selector.matchLabels, { "serving.sluice.dev/revision": "shop-00001" });
  t.same(deployment.spec?.template.metadata?.labels, labels, "pods carry the same labels");
  t.equal(deployment.spec?.template.metadata?.annotations?.["autoscaling.knative.dev/min-scale"], "1");
  t.same(deployment.metadata?.ownerReferences, [
    {
      apiVersion: "serving.sluice.dev/v1",
      kind: "Revision",
      name: "shop-00001",
      uid: "uid-rev-1",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);

  const knative = revisionDeployment({
    revision: revisionOf(KNATIVE_SERVICE),
    revisionUid: "uid-rev-1",
    replicas: 1,
    queueProxy,
    group: KNATIVE_GROUP,
  });
  if ("problems" in knative) throw new Error("refused");
  const knativeLabels = knative.deployment.metadata?.labels ?? {};
  t.equal(knativeLabels["serving.knative.dev/service"], "shop");
  t.equal(knativeLabels["serving.knative.dev/revision"], "shop-00001");
  t.equal(knativeLabels["serving.knative.dev/revisionUID"], "uid-rev-1");
  t.equal(knative.deployment.metadata?.ownerReferences?.[0].apiVersion, "serving.knative.dev/v1");
});

t.test("replicas: the desired scale, 0 included; left out when an HPA owns it", async (t) => {
  const revision = revisionOf(KNATIVE_SERVICE);
  t.equal(build(revision, 0).spec?.replicas, 0);
  t.equal(build(revision, 3).spec?.replicas, 3);
  t.notOk("replicas" in (build(revision, "hpa").spec ?? {}));
});

const minimal = (container: string, extra = "") => `
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: app
spec:
  template:
    spec:${extra}
      containers:
${container}`;

t.test("defaults: port 8080, no readiness probe, h2c from the port name", async (t) => {
  const plain = build(revisionOf(minimal("        - image: nginx")), 1);
  const sidecar = plain.spec?.template.spec?.containers[1];
  t.equal(env(sidecar).USER_PORT, "8080");
  t.notOk("SERVING_READINESS_PROBE" in env(sidecar), "the queue-proxy's own TCP default");
  t.notOk(
    "SLUICE_HOP_SECRET" in
      env(build(revisionOf(minimal("        - image: nginx")))?.spec?.template.spec?.containers[0]),
  );
  t.equal(plain.metadata?.namespace, "default");
  t.equal(plain.spec?.template.spec?.terminationGracePeriodSeconds, 340);

  const grpc = build(
    revisionOf(
      minimal(
        "        - image: grpc-app\n          ports:\n            - name: h2c\n              containerPort: 50051",
      ),
    ),
  );
  t.equal(env(grpc.spec?.template.spec?.containers[1]).USER_PROTOCOL, "h2c");
  t.equal(env(grpc.spec?.template.spec?.containers[0]).PORT, "50051");
});

t.test("sidecars: K_* but not PORT; the serving container is the one with the port", async (t) => {
  const deployment = build(
    revisionOf(
      minimal(
        "        - name: proxy\n          image: envoy\n        - name: app\n          image: app\n          ports:\n            - containerPort: 8081",
      ),
    ),
  );
  const [proxy, app, queue] = deployment.spec?.template.spec?.containers ?? [];
  t.equal(proxy.name, "proxy");
  t.same(Object.keys(env(proxy)), ["K_SERVICE", "K_CONFIGURATION", "K_REVISION"]);
  t.equal(app.name, "app");
  t.equal(env(app).PORT, "8081");
  t.equal(env(queue).USER_PORT, "8081");
});

t.test("exec readiness probes stay with the kubelet", async (t) => {
  const probe = { exec: { command: ["true"] }, periodSeconds: 3 };
  t.equal(queueProxyProbe(probe, 8080), undefined);
  t.same(queueProxyProbe({ tcpSocket: { port: "http1" } }, 8080), { tcpSocket: { port: 8080 } });
  const deployment = build(
    revisionOf(
      minimal(
        "        - image: app\n          readinessProbe:\n            exec:\n              command: [cat, /tmp/ready]",
      ),
    ),
  );
  t.same(deployment.spec?.template.spec?.containers[0].readinessProbe, {
    exec: { command: ["cat", "/tmp/ready"] },
  });
});

t.test("Knative's container rules are refused with clear messages", async (t) => {
  const refused = (container: string, extra = "") => {
    const result = revisionDeployment({
      revision: revisionOf(minimal(container, extra)),
      revisionUid: "u",
      replicas: 1,
      queueProxy,
    });
    return "problems" in result ? result.problems.map((p) => `${p.path}: ${p.message}`) : [];
  };
  t.match(refused("        - image: app\n          ports:\n            - containerPort: 8012"), [
    /containers\[0\]\.ports\[0\]\.containerPort: 8012 is a reserved port/,
  ]);
  t.match(refused("        - image: app\n          ports:\n            - containerPort: 9091"), [
    /9091 is a reserved port/,
  ]);
  t.match(
    refused("        - image: app\n          env:\n            - name: PORT\n              value: '1'"),
    [/containers\[0\]\.env\[0\]\.name: "PORT" is a reserved environment variable/],
  );
  t.match(
    refused("        - image: app\n          env:\n            - name: K_REVISION\n              value: x"),
    [/"K_REVISION" is a reserved/],
  );
  t.match(refused("        - name: queue-proxy\n          image: app"), [
    /"queue-proxy" is a reserved container name/,
  ]);
  t.match(refused('        - command: ["node", "app.js"]'), [
    /containers\[0\]\.image: required field is missing/,
  ]);
  t.match(
    refused(
      "        - image: app\n          ports:\n            - name: grpc\n              containerPort: 9000",
    ),
    [/port name "grpc" is not allowed/],
  );
  t.match(refused("        - image: a\n        - image: b"), [/must declare its port/]);
  t.match(
    refused(
      "        - image: a\n          ports:\n            - containerPort: 8081\n        - image: b\n          ports:\n            - containerPort: 8082",
    ),
    [/more than one container port is set/],
  );
  t.match(
    refused(
      "        - image: a\n          volumeMounts:\n            - name: x\n              mountPath: /dev/",
    ),
    [/mountPath "\/dev" is a reserved path/],
  );
  t.same(containerProblems(revisionOf(KNATIVE_SERVICE).template), []);
});

t.test("preStop: every user container waits for the queue-proxy's drain (Knative)", async (t) => {
  const deployment = build(
    revisionOf(
      minimal(
        "        - name: proxy\n          image: envoy\n        - name: app\n          image: app\n          ports:\n            - containerPort: 8081",
      ),
    ),
  );
  const [proxy, app, queue] = deployment.spec?.template.spec?.containers ?? [];
  const hook = { preStop: { httpGet: { path: "/wait-for-drain", port: 8022 } } };
  t.same(app.lifecycle, hook, "the serving container");
  t.same(proxy.lifecycle, hook, "and a sidecar: neither gets SIGTERM while requests still come in");
  t.equal(queue.lifecycle, undefined, "the queue-proxy has none: SIGTERM joins the drain at once");
  t.equal(
    app.lifecycle?.preStop?.httpGet?.port,
    Number(env(queue).QUEUE_ADMIN_PORT),
    "the port is the queue-proxy's admin port",
  );
  t.ok(
    queue.ports?.some((p) => p.containerPort === app.lifecycle?.preStop?.httpGet?.port),
    "which the queue-proxy container declares",
  );
});

t.test("the grace period follows the queue-proxy's drain timeout", async (t) => {
  const revision = revisionOf(minimal("        - image: nginx"));
  const grace = (env?: { name: string; value: string }[]) => {
    const result = revisionDeployment({
      revision,
      revisionUid: "uid-rev-1",
      replicas: 1,
      queueProxy: { ...queueProxy, env },
    });
    if ("problems" in result) throw new Error(JSON.stringify(result.problems));
    return result.deployment.spec?.template.spec?.terminationGracePeriodSeconds;
  };
  t.equal(grace(), 340, "default: 300 + 30 s of drain + 10 s to stop");
  t.equal(grace([{ name: "QUEUE_DRAIN_TIMEOUT_SECONDS", value: "60.5" }]), 71, "set by the installation");
  t.equal(grace([{ name: "QUEUE_DRAIN_TIMEOUT_SECONDS", value: "soon" }]), 340, "not a number: the default");
  t.equal(terminationGraceSeconds(drainTimeoutSeconds(10)), 50);
});
