import type { V1Service } from "@kubernetes/client-node";
import type { Revision } from "../../serving/revisions.ts";
import {
  podServiceName,
  QUEUE_PORT,
  QUEUE_PORT_NAME,
  revisionChildMetadata,
  revisionSelector,
  type ServingGroup,
  SLUICE_GROUP,
} from "./names.ts";

/**
 * The headless Service `{revision}-private` over a revision's pods. Nothing is routed through it:
 * it exists so the EndpointSlice controller lists the pods with their readiness, which is where
 * the platform takes ready endpoints from (endpoints.ts), with the queue-proxy ports by name.
 */
export function revisionPodService(
  revision: Revision,
  revisionUid: string,
  group: ServingGroup = SLUICE_GROUP,
): V1Service {
  const h2c = revision.template.spec.containers.some((container) =>
    container.ports?.some((port) => port.name === "h2c"),
  );
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: revisionChildMetadata(podServiceName(revision.name), group, revision, revisionUid),
    spec: {
      clusterIP: "None",
      selector: revisionSelector(revision.name),
      publishNotReadyAddresses: false,
      ports: [
        {
          name: QUEUE_PORT_NAME.serving,
          port: QUEUE_PORT.serving,
          targetPort: QUEUE_PORT.serving,
          protocol: "TCP",
          appProtocol: h2c ? "kubernetes.io/h2c" : "http",
        },
        {
          name: QUEUE_PORT_NAME.admin,
          port: QUEUE_PORT.admin,
          targetPort: QUEUE_PORT.admin,
          protocol: "TCP",
        },
        {
          name: QUEUE_PORT_NAME.metrics,
          port: QUEUE_PORT.metrics,
          targetPort: QUEUE_PORT.metrics,
          protocol: "TCP",
        },
      ],
    },
  };
}
