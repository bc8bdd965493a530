// What went wrong with a call to the API server, said for a person: an unreachable server (URL and
// cause), a missing CRD (and how to install it), a refusal (verb and resource), or the server's
// own message (e.g. a CRD schema or CEL rule, 422).
import { apiStatus } from "../../platform/kubernetes/api-status.ts";
import type { ClusterTarget } from "./target.ts";

/** A Kubernetes Status body, as the API server answers errors. */
interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

/** The Status the server answered with, when it answered one. */
export function statusBody(error: unknown): StatusBody | undefined {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "object" && body !== null) return body as StatusBody;
  if (typeof body !== "string") return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as StatusBody) : undefined;
  } catch {
    return body.trim() === "" ? undefined : { message: body.trim() };
  }
}

/** The server's message for a failed call ("" when there is none). */
export function serverMessage(error: unknown): string {
  return statusBody(error)?.message ?? "";
}

/** ECONNREFUSED, ENOTFOUND, a TLS error…: the innermost cause of a failed request. */
function networkCause(error: unknown): string {
  let here = error as { cause?: unknown; code?: unknown; message?: string } | undefined;
  let why = here?.message ?? String(error);
  for (let depth = 0; here && depth < 5; depth++) {
    if (typeof here.code === "string") return here.code;
    if (here.message) why = here.message;
    here = here.cause as typeof here;
  }
  return why;
}

export interface Call {
  /** get, list, watch, patch, create… */
  verb: string;
  /** "services.serving.sluice.dev", "pods", "pods/log". */
  resource: string;
  /** The namespace, or undefined for every namespace. */
  namespace?: string;
}

/** A failure to talk to the cluster, already described: printed, exit 1. */
export class ClusterFailed extends Error {}

/** The chart's Eventing CRDs not being served: how to turn them on. */
export function eventingCrdsMissing(target: ClusterTarget, resource: string): string {
  return `the API server at ${target.server} does not serve ${resource}: the Eventing CRDs are not installed: helm upgrade sluice charts/sluice -n sluice-system --reuse-values --set eventing.enabled=true --set eventing.natsUrl=nats://NATS:4222 (docs/eventing.md, "On Kubernetes")`;
}

/** Whether a failed call is a 404 without an object's name: the resource (its CRD) is not served. */
export function notServed(error: unknown): boolean {
  return apiStatus(error) === 404 && statusBody(error)?.details?.name === undefined;
}

/** The CRD not being served: how to install it. */
export function crdMissing(target: ClusterTarget, resource: string): string {
  const chart =
    target.group === "serving.knative.dev"
      ? "helm install sluice charts/sluice --set servingGroup=serving.knative.dev"
      : "helm install sluice charts/sluice";
  return `the API server at ${target.server} does not serve ${resource}: is the sluice chart installed? ${chart}`;
}

/**
 * A one-line description of `error` from `call`. A 404 of a custom resource without an object name
 * is its CRD missing; a 404 naming an object is passed on as the server said it.
 */
export function describeApiError(error: unknown, call: Call, target: ClusterTarget): string {
  const status = apiStatus(error);
  const where = call.namespace === undefined ? "in any namespace" : `in namespace ${call.namespace}`;
  if (status === undefined) {
    if ((error as { name?: string } | null)?.name === "AbortError")
      return `the API server at ${target.server} did not answer in time (${call.verb} ${call.resource})`;
    return `cannot reach the API server at ${target.server} (${networkCause(error)}); check the kubeconfig (${target.source}) and that the cluster is up`;
  }
  const body = statusBody(error);
  const message = body?.message ?? "";
  if (status === 401)
    return `the API server at ${target.server} does not accept the credentials of the kubeconfig (${target.source}): 401 Unauthorized${message ? `: ${message}` : ""}`;
  if (status === 403)
    return `forbidden: cannot ${call.verb} ${call.resource} ${where}${message ? ` (${message})` : ""}`;
  if (status === 404 && call.resource.includes(".") && body?.details?.name === undefined)
    return crdMissing(target, call.resource);
  return `${call.verb} ${call.resource} ${where}: ${status}${body?.reason ? ` ${body.reason}` : ""}${message ? `: ${message}` : ""}`;
}
