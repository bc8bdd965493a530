// The chart installed with Eventing on a test control plane: what every Kubernetes-mode Eventing
// test starts from (the CRDs, eventing's and the autoscaler's ServiceAccounts and RBAC), waiting
// until the API server serves the kinds the test uses.
import * as k8s from "@kubernetes/client-node";
import type { Test } from "tap";
import { CHART, helm, NAMESPACE, RELEASE } from "../../charts/chart.ts";
import { waitFor } from "../processes.ts";

/** A kind the test needs served: [group, version, plural]. */
export type ServedKind = readonly [group: string, version: string, plural: string];

export async function installChartWithEventing(
  t: Test,
  cp: { kubeConfig: k8s.KubeConfig; kubeconfigPath: string },
  served: readonly ServedKind[],
): Promise<void> {
  const installed = helm([
    "install",
    RELEASE,
    CHART,
    "-n",
    NAMESPACE,
    "--create-namespace",
    "--wait=false",
    "--set",
    "eventing.enabled=true",
    "--set",
    // Never reached: eventing runs as a test process with its own NATS_URL.
    "eventing.natsUrl=nats://nats.nats.svc:4222",
    "--kubeconfig",
    cp.kubeconfigPath,
  ]);
  t.equal(installed.status, 0, `helm install:\n${installed.stdout}${installed.stderr}`);
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  for (const [group, version, plural] of served)
    await waitFor(
      `${plural}.${group} served`,
      () => custom.listClusterCustomObject({ group, version, plural }).then(() => true),
      { timeoutMs: 30_000, everyMs: 100 },
    );
}
