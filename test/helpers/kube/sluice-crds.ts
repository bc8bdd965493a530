// The chart's CRDs installed into a test control plane, and served: what the reconcilers, the
// controller and the CLI tests need before their first Service.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ROOT, waitFor } from "../processes.ts";
import type { ControlPlane } from "./control-plane.ts";

export const SLUICE_GROUP = "serving.sluice.dev";

/** Creates services/revisions.serving.sluice.dev and waits until both are listed in `namespace`. */
export async function installSluiceCrds(cp: ControlPlane, namespace = "default"): Promise<void> {
  const extensions = cp.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  for (const file of ["services.yaml", "revisions.yaml"]) {
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(
      readFileSync(join(ROOT, "charts/sluice/crds", file), "utf8"),
    );
    await extensions.createCustomResourceDefinition({ body: crd });
    await waitFor(
      `${crd.metadata?.name} established`,
      async () =>
        (
          await extensions.readCustomResourceDefinition({ name: crd.metadata?.name ?? "" })
        ).status?.conditions?.some((c) => c.type === "Established" && c.status === "True"),
      { timeoutMs: 20_000, everyMs: 100 },
    );
  }
  // Right after Established, a new resource's storage may still answer 429 for a moment.
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  for (const plural of ["services", "revisions"])
    await waitFor(
      `${plural} to be served`,
      () => custom.listNamespacedCustomObject({ group: SLUICE_GROUP, version: "v1", namespace, plural }),
      { timeoutMs: 20_000, everyMs: 100 },
    );
}
