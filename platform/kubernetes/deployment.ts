import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Lifecycle,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1SecurityContext,
} from "@kubernetes/client-node";
import { DATA_PATH_ENV, DATA_PATH_NODE_OPTIONS, QUEUE_PROXY_ENV } from "../../common/prebuilt.ts";
import { WAIT_FOR_DRAIN_PATH } from "../../queue-proxy/drain-hook.ts";
import type { Container } from "../../serving/manifest.ts";
import type { Revision } from "../../serving/revisions.ts";
import { type ContainerProblem, containerProblems, servingContainerIndex } from "./container-rules.ts";
import {
  DEFAULT_USER_PORT,
  deploymentName,
  ownerRef,
  QUEUE_PORT,
  QUEUE_PORT_NAME,
  QUEUE_PROXY_CONTAINER,
  revisionObjectLabels,
  revisionSelector,
  type ServingGroup,
  SLUICE_GROUP,
  USER_CONTAINER,
} from "./names.ts";

/** How the installation runs queue-proxies (chart values). */
export interface QueueProxyOptions {
  /** The sluice image; it runs every component, the queue-proxy chosen by command. */
  image: string;
  command?: string[];
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  resources?: V1ResourceRequirements;
  /** The Secret holding SLUICE_HOP_SECRET, the same one router and activator read. */
  hopSecret?: { name: string; key: string };
  /**
   * Once the pod is deleted (the preStop hook, SIGTERM), how long without a new request before the
   * queue-proxy's drain ends: long enough for the pod's removal to reach router and activator
   * (EndpointSlice, watch, state stream). Default 5 s.
   */
  drainQuietSeconds?: number;
  /** More variables (OTEL_*, QUEUE_* limits, QUEUE_ACCESS_LOG…), after the ones set here. */
  env?: V1EnvVar[];
}

export interface DeploymentInput {
  revision: Revision;
  /** The Revision object's uid: the Deployment is owned by it. */
  revisionUid: string;
  group?: ServingGroup;
  /**
   * The desired scale (0 allowed). Undefined leaves `replicas` out: an HPA owns the count, and an
   * update must not fight it.
   */
  replicas: number | undefined;
  queueProxy: QueueProxyOptions;
  /**
   * Set over every user container's own environment (K_SINK and its kin from a SinkBinding): a
   * variable of the same name the manifest sets is replaced, as Knative's SinkBinding webhook does.
   */
  injectedEnv?: V1EnvVar[];
}

export const QUEUE_PROXY_DEFAULT_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: "25m", memory: "64Mi" },
  limits: { memory: "512Mi" },
};

const QUEUE_PROXY_SECURITY: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Knative's preStop hook, on every user container: the kubelet calls the queue-proxy's
 * /wait-for-drain (admin port, pod IP) and holds the container's SIGTERM until it answers, i.e.
 * until the queue-proxy has drained. The queue-proxy itself has no hook: it gets SIGTERM at once
 * and joins the same drain. So the app is never stopped while requests still reach it.
 */
export const USER_CONTAINER_LIFECYCLE: V1Lifecycle = {
  preStop: { httpGet: { path: WAIT_FOR_DRAIN_PATH, port: QUEUE_PORT.admin } },
};

/** After the hook answers, time for the user containers to stop before the kubelet kills them. */
const USER_STOP_SECONDS = 10;

/**
 * How long the queue-proxy may drain: QUEUE_DRAIN_TIMEOUT_SECONDS when the installation sets it
 * (queueProxy.env), else its default, timeoutSeconds + 30 s (queue-proxy/config.ts).
 */
export function drainTimeoutSeconds(timeoutSeconds: number, env: readonly V1EnvVar[] = []): number {
  const set = Number(env.findLast((variable) => variable.name === "QUEUE_DRAIN_TIMEOUT_SECONDS")?.value);
  return Number.isFinite(set) && set > 0 ? Math.ceil(set) : timeoutSeconds + 30;
}

/**
 * The pod's grace: the drain (the preStop hook waits for it, bounded by its timeout), then time for
 * the user containers to stop, before the kubelet kills what is left.
 */
export function terminationGraceSeconds(drainSeconds: number): number {
  return drainSeconds + USER_STOP_SECONDS;
}

/** Sluice's own fields of a revision spec: not PodSpec fields, handed to the queue-proxy instead. */
const REVISION_ONLY = new Set([
  "containers",
  "containerConcurrency",
  "timeoutSeconds",
  "responseStartTimeoutSeconds",
  "idleTimeoutSeconds",
]);

/**
 * The Deployment `{revision}-deployment` that runs a revision: the user's containers as written
 * (everything of the PodSpec Knative accepts passes through) plus PORT and K_*, and the queue-proxy
 * sidecar in front of the serving one. Refuses, with every reason, templates that break Knative's
 * container rules.
 */
export function revisionDeployment(
  input: DeploymentInput,
): { deployment: V1Deployment } | { problems: ContainerProblem[] } {
  const { revision, revisionUid, replicas, queueProxy } = input;
  const group = input.group ?? SLUICE_GROUP;
  const problems = containerProblems(revision.template);
  if (problems.length > 0) return { problems };
  const spec = revision.template.spec;
  const serving = servingContainerIndex(spec.containers);
  const servingContainer = spec.containers[serving];
  const userPort = servingContainer.ports?.[0]?.containerPort ?? DEFAULT_USER_PORT;
  const protocol = servingContainer.ports?.[0]?.name === "h2c" ? "h2c" : "http1";
  const timeoutSeconds = spec.timeoutSeconds ?? 300;
  const kEnv: V1EnvVar[] = [
    { name: "K_SERVICE", value: revision.service },
    { name: "K_CONFIGURATION", value: revision.service },
    { name: "K_REVISION", value: revision.name },
  ];
  const readiness = queueProxyProbe(servingContainer.readinessProbe, userPort);
  const injected = input.injectedEnv ?? [];
  const replaced = new Set(injected.map((variable) => variable.name));
  const ownEnv = (env: Container["env"]) =>
    ((env ?? []) as V1EnvVar[]).filter((variable) => !replaced.has(variable.name));

  const containers: V1Container[] = spec.containers.map((container, i) => {
    if (i !== serving) {
      return {
        ...(container as V1Container),
        name: container.name ?? `${USER_CONTAINER}-${i}`,
        env: [...ownEnv(container.env), ...kEnv, ...injected],
        lifecycle: USER_CONTAINER_LIFECYCLE,
      };
    }
    const { readinessProbe, livenessProbe, startupProbe, ports: _ports, ...rest } = container;
    const out: V1Container = {
      // Knative's default: a crash's last log lines become the termination message (pod-failure.ts).
      terminationMessagePolicy: "FallbackToLogsOnError",
      ...(rest as V1Container),
      name: container.name ?? USER_CONTAINER,
      ports: [{ name: "user-port", containerPort: userPort, protocol: "TCP" }],
      env: [...ownEnv(container.env), { name: "PORT", value: String(userPort) }, ...kEnv, ...injected],
      lifecycle: USER_CONTAINER_LIFECYCLE,
    };
    // httpGet and tcpSocket readiness the queue-proxy does itself (SERVING_READINESS_PROBE); exec
    // and grpc stay with the kubelet.
    if (readinessProbe && readiness === undefined) out.readinessProbe = userProbe(readinessProbe, userPort);
    if (livenessProbe) out.livenessProbe = userProbe(livenessProbe, userPort);
    if (startupProbe) out.startupProbe = userProbe(startupProbe, userPort);
    return out;
  });

  const queueEnv: V1EnvVar[] = [
    { name: "QUEUE_SERVING_PORT", value: String(QUEUE_PORT.serving) },
    { name: "QUEUE_ADMIN_PORT", value: String(QUEUE_PORT.admin) },
    { name: "QUEUE_METRICS_PORT", value: String(QUEUE_PORT.metrics) },
    { name: "QUEUE_BIND_ADDRESS", value: "0.0.0.0" },
    { name: "USER_PORT", value: String(userPort) },
    { name: "USER_PROTOCOL", value: protocol },
    { name: "CONTAINER_CONCURRENCY", value: String(spec.containerConcurrency ?? 0) },
    { name: "REVISION_TIMEOUT_SECONDS", value: String(timeoutSeconds) },
    { name: "QUEUE_DRAIN_QUIET_SECONDS", value: String(queueProxy.drainQuietSeconds ?? 5) },
    ...(spec.responseStartTimeoutSeconds === undefined
      ? []
      : [
          {
            name: "REVISION_RESPONSE_START_TIMEOUT_SECONDS",
            value: String(spec.responseStartTimeoutSeconds),
          },
        ]),
    ...(spec.idleTimeoutSeconds === undefined
      ? []
      : [{ name: "REVISION_IDLE_TIMEOUT_SECONDS", value: String(spec.idleTimeoutSeconds) }]),
    ...(readiness === undefined
      ? []
      : [{ name: "SERVING_READINESS_PROBE", value: JSON.stringify(readiness) }]),
    { name: "SERVING_SERVICE", value: revision.service },
    { name: "SERVING_CONFIGURATION", value: revision.service },
    { name: "SERVING_NAMESPACE", value: revision.namespace },
    { name: "SERVING_REVISION", value: revision.name },
    { name: "SERVING_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    ...(queueProxy.hopSecret
      ? [
          {
            name: "SLUICE_HOP_SECRET",
            valueFrom: { secretKeyRef: { ...queueProxy.hopSecret, optional: false } },
          },
        ]
      : []),
    // The data path's memory settings (common/prebuilt.ts); the image runs node on the bundle, with
    // the queue-proxy's own V8 flag on its command line (the Dockerfile's component script).
    { name: "NODE_OPTIONS", value: DATA_PATH_NODE_OPTIONS.join(" ") },
    ...Object.entries({ ...DATA_PATH_ENV, ...QUEUE_PROXY_ENV }).map(([name, value]) => ({ name, value })),
    ...(queueProxy.env ?? []),
  ];
  const sidecar: V1Container = {
    name: QUEUE_PROXY_CONTAINER,
    image: queueProxy.image,
    command: queueProxy.command ?? ["queue-proxy"],
    ...(queueProxy.imagePullPolicy ? { imagePullPolicy: queueProxy.imagePullPolicy } : {}),
    ports: [
      { name: QUEUE_PORT_NAME.serving, containerPort: QUEUE_PORT.serving, protocol: "TCP" },
      { name: QUEUE_PORT_NAME.admin, containerPort: QUEUE_PORT.admin, protocol: "TCP" },
      { name: QUEUE_PORT_NAME.metrics, containerPort: QUEUE_PORT.metrics, protocol: "TCP" },
    ],
    env: queueEnv,
    readinessProbe: {
      httpGet: { path: "/readyz", port: QUEUE_PORT.admin },
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 3,
    },
    resources: queueProxy.resources ?? QUEUE_PROXY_DEFAULT_RESOURCES,
    securityContext: QUEUE_PROXY_SECURITY,
  };

  const podFields = Object.fromEntries(Object.entries(spec).filter(([key]) => !REVISION_ONLY.has(key)));
  const podSpec: V1PodSpec = {
    // Knative's default: a namespace's Services as env variables are rarely wanted and slow starts.
    enableServiceLinks: false,
    ...(podFields as Partial<V1PodSpec>),
    containers: [...containers, sidecar],
    terminationGracePeriodSeconds: terminationGraceSeconds(
      drainTimeoutSeconds(timeoutSeconds, queueProxy.env),
    ),
  };

  const labels = revisionObjectLabels(group, revision, revisionUid);
  const templateMeta = revision.template.metadata;
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: deploymentName(revision.name),
      namespace: revision.namespace,
      labels: { ...templateMeta?.labels, ...labels },
      annotations: { ...templateMeta?.annotations },
      ownerReferences: [
        ownerRef({ apiVersion: `${group}/v1`, kind: "Revision", name: revision.name, uid: revisionUid }),
      ],
    },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: revisionSelector(revision.name) },
      // A revision never changes: its one ReplicaSet is all there is.
      revisionHistoryLimit: 0,
      template: {
        metadata: {
          labels: { ...templateMeta?.labels, ...labels },
          annotations: { ...templateMeta?.annotations },
        },
        spec: podSpec,
      },
    },
  };
  return { deployment };
}

type ManifestProbe = NonNullable<Container["readinessProbe"]>;

/** A probe port the user wrote: unset, 0 or a name mean the user port (the container has only one). */
function probePort(port: number | string | undefined, userPort: number): number {
  return typeof port === "number" && port !== 0 ? port : userPort;
}

/** A liveness, startup or exec/grpc readiness probe on the user container, its port made concrete. */
function userProbe(probe: ManifestProbe, userPort: number): V1Probe {
  const out = { ...probe } as V1Probe & Record<string, unknown>;
  if (probe.httpGet)
    out.httpGet = { ...probe.httpGet, port: probePort(probe.httpGet.port, userPort) } as V1Probe["httpGet"];
  if (probe.tcpSocket)
    out.tcpSocket = {
      ...probe.tcpSocket,
      port: probePort(probe.tcpSocket.port, userPort),
    } as V1Probe["tcpSocket"];
  return out;
}

/**
 * SERVING_READINESS_PROBE for the queue-proxy (queue-proxy/config.ts: tcpSocket or httpGet with a
 * numeric port, and the timing fields), or undefined when there is no probe or the kubelet must
 * run it (exec, grpc). Knative's periodSeconds 0 (probe aggressively) passes as is.
 */
export function queueProxyProbe(probe: ManifestProbe | undefined, userPort: number): object | undefined {
  if (!probe || probe.exec !== undefined || probe.grpc !== undefined) return undefined;
  const timing = Object.fromEntries(
    (
      [
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
        "initialDelaySeconds",
      ] as const
    )
      .filter((key) => probe[key] !== undefined)
      .map((key) => [key, probe[key]]),
  );
  if (probe.httpGet) {
    const { path } = probe.httpGet;
    return {
      httpGet: { ...(path === undefined ? {} : { path }), port: probePort(probe.httpGet.port, userPort) },
      ...timing,
    };
  }
  return { tcpSocket: { port: probePort(probe.tcpSocket?.port, userPort) }, ...timing };
}
