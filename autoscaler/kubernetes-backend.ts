import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../common/log.ts";
import { ClusterController } from "../platform/kubernetes/cluster-controller.ts";
import { KubeClient } from "../platform/kubernetes/kube-client.ts";
import { LeaderElector } from "../platform/kubernetes/leader-election.ts";
import type { Backend } from "./backend.ts";
import type { AutoscalerConfig, KubernetesConfig } from "./config.ts";
import type { Controller } from "./controller.ts";

/** The pod's service account in a cluster; a kubeconfig file (SLUICE_KUBECONFIG, KUBECONFIG) outside. */
function kubeConfigFor(settings: KubernetesConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (settings.kubeconfig) kubeConfig.loadFromFile(settings.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * The cluster is the platform: Services and Revisions are custom objects, pods are Deployments'.
 * Every replica watches; the one holding the Lease reconciles, scales and answers ready (so the
 * autoscaler's Service sends router, activator and CLI to it). A replica that loses the Lease
 * exits, as client-go's leader election does, and starts again as a candidate: nothing of a
 * half-finished leadership lingers.
 */
export function kubernetesBackend(config: AutoscalerConfig, log: Logger): Backend {
  const settings = config.kubernetes;
  if (!settings)
    throw new Error("kubernetesBackend needs the Kubernetes settings (SLUICE_PLATFORM=kubernetes)");
  const kubeConfig = kubeConfigFor(settings);
  const client = new KubeClient(kubeConfig, { group: settings.group });
  let controller: Controller | undefined;
  const cluster = new ClusterController({
    kubeConfig,
    client,
    domain: config.domain,
    queueProxy: { image: settings.queueProxyImage },
    hopSecret: settings.hopSecret,
    sink: { syncService: (...args) => controller?.syncService(...args) },
    ...(settings.sinkBindings ? { sinkBindings: { ...settings.sinkBindings, domain: config.domain } } : {}),
    log: log.child({ platform: "kubernetes" }),
  });
  let leading = false;
  const elector = new LeaderElector(kubeConfig, {
    namespace: settings.lease.namespace,
    name: settings.lease.name,
    identity: settings.identity,
    leaseDurationMs: settings.leaseDurationMs,
    retryPeriodMs: Math.max(500, Math.floor(settings.leaseDurationMs / 7)),
    onStartedLeading: () => {
      log.info({ identity: settings.identity }, "leading: reconciling and scaling");
      cluster.lead();
      // The first snapshot has every service: router and activator never see a partial one.
      void cluster.servicesIdle().then(() => {
        controller?.startPublishing();
        leading = true;
      });
    },
    onStoppedLeading: (reason) => {
      log.error({ reason }, "lost the leader election Lease; exiting to start again as a candidate");
      process.exit(1);
    },
    onNewLeader: (identity) => log.info({ leader: identity }, "leader"),
    onError: (error) => log.warn({ err: error }, "leader election: cannot read or write the Lease; retrying"),
  });
  return {
    platform: cluster.platform,
    async start(built) {
      controller = built;
      log.info({ group: settings.group, lease: settings.lease }, "watching the cluster");
      await cluster.start();
      elector.start();
    },
    acting: () => leading,
    async close() {
      // Released whenever held (also before the first snapshot): a standby need not wait it out.
      await elector.stop({ release: true });
      await cluster.stop();
    },
  };
}
