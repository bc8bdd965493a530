// One container's log from the API server (GET pods/{pod}/log), as a stream, with the kubeconfig's
// credentials and TLS, as client-node's Log class does. Not that class itself: it drops the body
// of an error (the 400 "container … is waiting to start" says why there is no log yet) and leaves
// a dropped response stream's error unhandled; here both reach the caller.
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import {
  AddOptionsToSearchParams,
  ApiException,
  HttpMethod,
  type KubeConfig,
  type LogOptions,
  RequestContext,
} from "@kubernetes/client-node";
import { fetch } from "undici";

/**
 * Opens the log of `container` in `namespace/pod`. Rejects with an ApiException (its `code` the
 * HTTP status, its `body` the server's Status) when the server refuses, or the network error.
 */
export async function podLogStream(
  kubeConfig: KubeConfig,
  where: { namespace: string; pod: string; container: string },
  options: LogOptions,
  signal: AbortSignal,
): Promise<Readable> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(
    `${server.replace(/\/+$/, "")}/api/v1/namespaces/${encodeURIComponent(where.namespace)}/pods/${encodeURIComponent(where.pod)}/log`,
  );
  url.searchParams.set("container", where.container);
  AddOptionsToSearchParams(options, url.searchParams);
  // (It leaves out tailLines 0, which means "no lines so far", not "all of them".)
  if (options.tailLines === 0) url.searchParams.set("tailLines", "0");
  const context = new RequestContext(url.toString(), HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(context);
  const response = await fetch(url, {
    headers: context.getHeaders(),
    dispatcher: context.getDispatcher(),
    signal,
  });
  if (response.status !== 200 || !response.body) {
    const text = await response.text().catch(() => "");
    throw new ApiException(response.status, "pods/log", text, {});
  }
  return Readable.fromWeb(response.body as ReadableStream);
}
