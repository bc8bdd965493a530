import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import type { EventingKubernetesConfig } from "../config.ts";
import type { ResolveOptions } from "../resources/compile.ts";
import { type ClusterApplyOptions, clusterApply, NOT_RUN_ON_KUBERNETES } from "./cluster-apply.ts";
import { EventingController } from "./controller.ts";

// Kubernetes mode's start (SLUICE_PLATFORM=kubernetes): the controller, fed from the pod's service
// account (or SLUICE_KUBECONFIG outside a cluster), serving through this process's runtime and
// source runners. Resolves once the first sync has been tried.

/** The pod's service account in a cluster; a kubeconfig file (SLUICE_KUBECONFIG, KUBECONFIG) outside. */
export function kubeConfigFor(kubeconfig: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (kubeconfig) kubeConfig.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export async function startClusterEventing(
  settings: EventingKubernetesConfig,
  options: ClusterApplyOptions & { resolve: ResolveOptions; log: Logger },
): Promise<EventingController> {
  const served = clusterApply(options);
  const controller = new EventingController({
    kubeConfig: kubeConfigFor(settings.kubeconfig),
    resolve: options.resolve,
    ingressUrl: settings.ingressUrl,
    apply: served.apply,
    notRunning: served.notRunning,
    unsupported: NOT_RUN_ON_KUBERNETES,
    log: options.log.child({ source: "kubernetes" }),
  });
  options.log.info({ ingressUrl: settings.ingressUrl }, "watching the cluster's Eventing resources");
  await controller.start();
  return controller;
}
