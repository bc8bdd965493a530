import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import type { EventingKubernetesConfig } from "../config.ts";
import type { ResolveOptions } from "../resources/compile.ts";
import { type ClusterApplyOptions, clusterApply, NOT_RUN_ON_KUBERNETES } from "./cluster-apply.ts";
import { clusterSecretReader } from "./cluster-secrets.ts";
import { EventingController } from "./controller.ts";
import { leaseLeader, SOLE_REPLICA, type SourceLeader } from "./source-leader.ts";

// Kubernetes mode's start (SLUICE_PLATFORM=kubernetes): the controller, fed from the pod's service
// account (or SLUICE_KUBECONFIG outside a cluster), serving through this process's runtime and
// source runners; with SLUICE_LEASE_NAME, the sources run on the replica holding that Lease.
// Resolves once the first sync has been tried.

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
  const kubeConfig = kubeConfigFor(settings.kubeconfig);
  const log = options.log.child({ source: "kubernetes" });
  const elected = settings.lease
    ? leaseLeader(
        kubeConfig,
        { ...settings.lease, identity: settings.identity, leaseDurationMs: settings.leaseDurationMs },
        log,
      )
    : SOLE_REPLICA;
  // A replica that loses the Lease sends no tick from then on, before its sources are stopped.
  options.sources.followLeader?.(() => elected.leading);
  // Stopping: the sources stop before the Lease is released, so the next leader's never overlap.
  const leader: SourceLeader = {
    get leading() {
      return elected.leading;
    },
    start: (changed) => elected.start(changed),
    async stop() {
      await options.sources.apply([]).catch(() => {});
      await elected.stop();
    },
  };
  const served = clusterApply({
    ...options,
    leading: () => leader.leading,
    readSecrets: clusterSecretReader(kubeConfig),
  });
  const controller = new EventingController({
    kubeConfig,
    resolve: options.resolve,
    ingressUrl: settings.ingressUrl,
    apply: served.apply,
    notRunning: served.notRunning,
    failing: served.failing,
    unsupported: NOT_RUN_ON_KUBERNETES,
    leader,
    log,
  });
  options.log.info(
    { ingressUrl: settings.ingressUrl, lease: settings.lease ?? "none (this replica runs the sources)" },
    "watching the cluster's Eventing resources",
  );
  // A source starting or stopping to fail changes its Ready condition: sync the status again.
  options.sources.onHealthChange?.(() => controller.resync());
  await controller.start();
  return controller;
}
