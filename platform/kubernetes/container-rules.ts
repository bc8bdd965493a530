import type { Container, RevisionTemplate } from "../../serving/manifest.ts";
import { QUEUE_PROXY_CONTAINER } from "./names.ts";

// Knative's rules for the containers of a revision (knative/serving pkg/apis/serving/k8s_validation.go),
// the ones a Deployment with sluice's queue-proxy beside them depends on. The schema (serving/manifest.ts)
// and validate.ts already refuse part of this for every mode; these hold in Kubernetes mode.

/** Ports the queue-proxy (8012, 8013, 8022, 9090, 9091) and profiling (8008) use in Knative's pods. */
export const RESERVED_PORTS: ReadonlySet<number> = new Set([8012, 8013, 8022, 9090, 9091, 8008]);
/** Set by the platform on the serving container (PORT) and on every container (K_*). */
export const RESERVED_ENV: ReadonlySet<string> = new Set([
  "PORT",
  "K_SERVICE",
  "K_CONFIGURATION",
  "K_REVISION",
]);
const RESERVED_SIDECAR_ENV: ReadonlySet<string> = new Set(["K_SERVICE", "K_CONFIGURATION", "K_REVISION"]);
const PORT_NAMES = new Set(["", "h2c", "http1"]);
const RESERVED_MOUNT_PATHS = new Set(["/", "/dev", "/dev/log"]);

export interface ContainerProblem {
  /** Path from the Service, e.g. spec.template.spec.containers[0].ports[0].containerPort. */
  path: string;
  message: string;
}

/** The index of the container that serves: the one with a port, else the only (or first) one. */
export function servingContainerIndex(containers: readonly Container[]): number {
  const index = containers.findIndex((container) => (container.ports?.length ?? 0) > 0);
  return index === -1 ? 0 : index;
}

/** Every way the template's containers break Knative's rules; empty when they run as a Deployment. */
export function containerProblems(template: RevisionTemplate): ContainerProblem[] {
  const problems: ContainerProblem[] = [];
  const containers = template.spec.containers;
  const base = "spec.template.spec.containers";
  const serving = servingContainerIndex(containers);
  const withPorts = containers.filter((container) => (container.ports?.length ?? 0) > 0);
  const portCount = withPorts.reduce((sum, container) => sum + (container.ports?.length ?? 0), 0);
  if (portCount > 1)
    problems.push({
      path: base,
      message: "more than one container port is set: only a single port is allowed across all containers",
    });
  if (containers.length > 1 && portCount === 0)
    problems.push({
      path: base,
      message: "with more than one container, the one that serves must declare its port (ports)",
    });
  const names = new Map<string, number>();
  containers.forEach((container, i) => {
    const at = `${base}[${i}]`;
    const name = container.name;
    if (name === QUEUE_PROXY_CONTAINER)
      problems.push({
        path: `${at}.name`,
        message: `"${QUEUE_PROXY_CONTAINER}" is a reserved container name`,
      });
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined)
        problems.push({
          path: `${at}.name`,
          message: `duplicate container name "${name}" (also containers[${first}])`,
        });
      else names.set(name, i);
    }
    if (!container.image)
      problems.push({
        path: `${at}.image`,
        message: "required field is missing: Kubernetes runs images (command alone runs only locally)",
      });
    const reserved = i === serving ? RESERVED_ENV : RESERVED_SIDECAR_ENV;
    container.env?.forEach((variable, j) => {
      if (reserved.has(variable.name))
        problems.push({
          path: `${at}.env[${j}].name`,
          message: `"${variable.name}" is a reserved environment variable (the platform sets it)`,
        });
    });
    container.ports?.forEach((port, j) => {
      const portAt = `${at}.ports[${j}]`;
      if (RESERVED_PORTS.has(port.containerPort))
        problems.push({
          path: `${portAt}.containerPort`,
          message: `${port.containerPort} is a reserved port (queue-proxy ${[...RESERVED_PORTS].join(", ")}), please use a different value`,
        });
      if (!PORT_NAMES.has(port.name ?? ""))
        problems.push({
          path: `${portAt}.name`,
          message: `port name ${JSON.stringify(port.name)} is not allowed: it must be empty, "h2c" or "http1"`,
        });
      if (port.protocol !== undefined && port.protocol !== "TCP")
        problems.push({ path: `${portAt}.protocol`, message: `${port.protocol}: only TCP is allowed` });
    });
    for (const { index, message } of mountProblems(container.volumeMounts))
      problems.push({ path: `${at}.volumeMounts[${index}].mountPath`, message });
  });
  return problems;
}

function mountProblems(mounts: unknown): { index: number; message: string }[] {
  if (!Array.isArray(mounts)) return [];
  const out: { index: number; message: string }[] = [];
  mounts.forEach((mount, index) => {
    const path = (mount as { mountPath?: unknown } | null)?.mountPath;
    if (typeof path !== "string") return; // the API server's schema says what is missing
    const clean = path.replace(/\/+$/, "") || "/";
    if (RESERVED_MOUNT_PATHS.has(clean))
      out.push({ index, message: `mountPath "${clean}" is a reserved path` });
  });
  return out;
}
