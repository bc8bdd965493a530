// The options that point a command at a Kubernetes cluster instead of a local autoscaler, shared by
// apply, validate, status and logs: which kubeconfig and context, which namespace, which API group.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { KNATIVE_GROUP, type ServingGroup, SLUICE_GROUP } from "../../platform/kubernetes/names.ts";

/** The parseArgs options of cluster mode; `allNamespaces` only for commands that read. */
export const CLUSTER_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  cluster: { type: "boolean", default: false },
  namespace: { type: "string", short: "n" },
  group: { type: "string" },
} as const;

export const ALL_NAMESPACES_OPTION = {
  "all-namespaces": { type: "boolean", short: "A", default: false },
} as const;

/** The help text of the options above, for each command's --help. */
export function clusterHelp(readsAllNamespaces: boolean): string {
  return `cluster mode (any of --kubeconfig, --context, --cluster, --group selects it):
  --kubeconfig PATH      the kubeconfig to use
  --context NAME         a context of the kubeconfig (default: its current context)
  --cluster              the default kubeconfig: $KUBECONFIG, else ~/.kube/config
  -n, --namespace NS     the namespace (default: the context's namespace, else default)${
    readsAllNamespaces ? "\n  -A, --all-namespaces   every namespace" : ""
  }
  --group GROUP          the API group sluice serves: ${SLUICE_GROUP} (default) or
                         ${KNATIVE_GROUP} (the chart's servingGroup value)`;
}

export interface ClusterValues {
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
  namespace?: string;
  group?: string;
  "all-namespaces"?: boolean;
}

/** Where a command's calls go in cluster mode. */
export interface ClusterTarget {
  kubeConfig: KubeConfig;
  /** The namespace of -n, or else the context's, or else "default". */
  namespace: string;
  /** Whether -n was given (a file's other namespace is then an error, as with kubectl). */
  namespaceGiven: boolean;
  allNamespaces: boolean;
  group: ServingGroup;
  /** The API server's URL, for messages. */
  server: string;
  /** The kubeconfig file(s) read, for messages. */
  source: string;
}

/** Bad usage or an unreadable kubeconfig: printed as is, exit 2. */
export class TargetError extends Error {}

/** Whether the options select cluster mode. */
export function wantsCluster(values: ClusterValues): boolean {
  return (
    values.kubeconfig !== undefined ||
    values.context !== undefined ||
    values.cluster === true ||
    values.group !== undefined
  );
}

function defaultKubeconfigPaths(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((path) => path !== "");
  return [join(homedir(), ".kube", "config")];
}

function load(paths: readonly string[]): KubeConfig {
  const kubeConfig = new KubeConfig();
  for (const [index, path] of paths.entries()) {
    if (!existsSync(path)) throw new TargetError(`cannot read kubeconfig ${path}: no such file`);
    const one = index === 0 ? kubeConfig : new KubeConfig();
    try {
      one.loadFromFile(path);
    } catch (error) {
      throw new TargetError(`cannot read kubeconfig ${path}: ${(error as Error).message.split("\n")[0]}`);
    }
    if (one !== kubeConfig) kubeConfig.mergeConfig(one);
  }
  return kubeConfig;
}

/**
 * The cluster target of the options, or undefined without any cluster option (the local
 * autoscaler). Throws TargetError for bad usage or a kubeconfig that cannot be read or used.
 */
export function clusterTarget(
  values: ClusterValues,
  env: NodeJS.ProcessEnv = process.env,
): ClusterTarget | undefined {
  if (!wantsCluster(values)) return undefined;
  const group = values.group ?? SLUICE_GROUP;
  if (group !== SLUICE_GROUP && group !== KNATIVE_GROUP)
    throw new TargetError(
      `--group must be ${SLUICE_GROUP} or ${KNATIVE_GROUP}, got ${JSON.stringify(group)}`,
    );
  if (values.namespace !== undefined && values["all-namespaces"])
    throw new TargetError("give -n NAMESPACE or -A (--all-namespaces), not both");
  const paths = values.kubeconfig !== undefined ? [values.kubeconfig] : defaultKubeconfigPaths(env);
  if (values.kubeconfig === undefined && !env.KUBECONFIG && !existsSync(paths[0]))
    throw new TargetError(
      `no kubeconfig: KUBECONFIG is not set and ${paths[0]} does not exist; give --kubeconfig PATH`,
    );
  const source = paths.join(delimiter);
  const kubeConfig = load(paths);
  if (values.context !== undefined) {
    if (!kubeConfig.getContextObject(values.context)) {
      const known = kubeConfig.getContexts().map((context) => context.name);
      throw new TargetError(
        `no context ${JSON.stringify(values.context)} in kubeconfig ${source}${
          known.length > 0 ? ` (it has: ${known.join(", ")})` : ""
        }`,
      );
    }
    kubeConfig.setCurrentContext(values.context);
  }
  const contextName = kubeConfig.getCurrentContext();
  const context = contextName ? kubeConfig.getContextObject(contextName) : null;
  if (!context) throw new TargetError(`kubeconfig ${source} has no current context: give --context NAME`);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster?.server)
    throw new TargetError(
      `kubeconfig ${source}: context ${contextName} names no cluster with a server (${context.cluster})`,
    );
  return {
    kubeConfig,
    namespace: values.namespace ?? context.namespace ?? "default",
    namespaceGiven: values.namespace !== undefined,
    allNamespaces: values["all-namespaces"] === true,
    group,
    server: cluster.server,
    source,
  };
}

/** The options of the local mode that make no sense with a cluster, and the reverse. */
export function conflictingOptions(
  target: ClusterTarget | undefined,
  values: { autoscaler?: string; "all-namespaces"?: boolean; namespace?: string },
  localTakesNamespace: boolean,
): string | undefined {
  if (target && values.autoscaler !== undefined)
    return "--autoscaler is for a local sluice; it cannot be combined with --kubeconfig, --context, --cluster or --group";
  if (!target && values["all-namespaces"])
    return "-A (--all-namespaces) needs a cluster: give --kubeconfig PATH, --context NAME or --cluster";
  if (!target && !localTakesNamespace && values.namespace !== undefined)
    return "-n (--namespace) needs a cluster: give --kubeconfig PATH, --context NAME or --cluster";
  return undefined;
}
