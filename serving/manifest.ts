import { z } from "zod";

// The shape of a Knative serving.knative.dev/v1 Service, as zod schemas: strict objects, so an
// unknown field is an error with its path. Fields Knative accepts but sluice does not act on
// (Kubernetes scheduling, volumes, security) are accepted so real manifests load unchanged.

const dnsLabel = z
  .string()
  .regex(
    /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "must be a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63 characters",
  );
const stringMap = z.record(z.string(), z.string());
const anything = z.unknown();

const objectMeta = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  generation: z.number().int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: anything.optional(),
  generateName: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: anything.optional(),
  ownerReferences: anything.optional(),
});

const envVar = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: anything.optional(),
});

const containerPort = z.strictObject({
  containerPort: z.number().int().min(1).max(65535),
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
});

const probe = z.strictObject({
  httpGet: z
    .strictObject({
      path: z.string().optional(),
      port: z.union([z.number().int(), z.string()]).optional(),
      host: z.string().optional(),
      scheme: z.string().optional(),
      httpHeaders: anything.optional(),
    })
    .optional(),
  tcpSocket: z
    .strictObject({ port: z.union([z.number().int(), z.string()]).optional(), host: z.string().optional() })
    .optional(),
  exec: anything.optional(),
  grpc: anything.optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().min(0).optional(),
  timeoutSeconds: z.number().min(0).optional(),
  successThreshold: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  terminationGracePeriodSeconds: z.number().int().optional(),
});

const container = z.strictObject({
  name: z.string().optional(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
  envFrom: anything.optional(),
  ports: z.array(containerPort).max(1, "Knative allows at most one port per container").optional(),
  resources: anything.optional(),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  startupProbe: probe.optional(),
  securityContext: anything.optional(),
  volumeMounts: anything.optional(),
  workingDir: z.string().optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  terminationMessagePath: z.string().optional(),
  terminationMessagePolicy: z.string().optional(),
});

const revisionSpec = z.strictObject({
  containers: z.array(container).min(1, "at least one container is required"),
  containerConcurrency: z.number().int().min(0).max(1000).optional(),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  responseStartTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
  idleTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
  serviceAccountName: z.string().optional(),
  volumes: anything.optional(),
  imagePullSecrets: anything.optional(),
  enableServiceLinks: z.boolean().optional(),
  nodeSelector: stringMap.optional(),
  tolerations: anything.optional(),
  affinity: anything.optional(),
  runtimeClassName: z.string().optional(),
  securityContext: anything.optional(),
  priorityClassName: z.string().optional(),
  schedulerName: z.string().optional(),
  topologySpreadConstraints: anything.optional(),
  hostAliases: anything.optional(),
  initContainers: anything.optional(),
  dnsPolicy: z.string().optional(),
  dnsConfig: anything.optional(),
});

const templateMeta = z.strictObject({
  name: dnsLabel.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  creationTimestamp: anything.optional(),
});

const trafficTarget = z.strictObject({
  revisionName: dnsLabel.optional(),
  latestRevision: z.boolean().optional(),
  percent: z.number().int().min(0).max(100).optional(),
  tag: dnsLabel.optional(),
  configurationName: z.string().optional(),
  url: z.string().optional(),
});

export const serviceSchema = z.strictObject({
  apiVersion: z.literal("serving.knative.dev/v1", { error: 'must be "serving.knative.dev/v1"' }),
  kind: z.literal("Service", { error: 'must be "Service"' }),
  metadata: objectMeta,
  spec: z.strictObject({
    template: z.strictObject({ metadata: templateMeta.optional(), spec: revisionSpec }),
    traffic: z.array(trafficTarget).optional(),
  }),
  status: anything.optional(),
});

export type ServiceManifest = z.infer<typeof serviceSchema>;
export type RevisionTemplate = ServiceManifest["spec"]["template"];
export type Container = z.infer<typeof container>;
export type TrafficEntry = z.infer<typeof trafficTarget>;
