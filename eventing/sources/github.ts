import type { IncomingMessage, ServerResponse } from "node:http";
import { sendPlain } from "../../common/http/respond.ts";
import type { Logger } from "../../common/log.ts";
import { readBody } from "../broker-ingress/read-body.ts";
import { describeEvent } from "../cloudevent/event.ts";
import type { DeliveryPolicy } from "../resources/compile.ts";
import type { GitHubSourceRuntime } from "../resources/compile-sources.ts";
import { gitHubEvent } from "./github-event.ts";
import { verifySignature } from "./github-signature.ts";
import { deliverToSink, type SinkOptions } from "./sink.ts";

// GitHubSources' webhook endpoint: POST /{namespace}/{name} on the eventing webhook port (the
// URL to give GitHub as the webhook's Payload URL). Answers, in this order:
//   404  no GitHubSource there;  405  not a POST;  413  body over the size limit;
//   401  X-Hub-Signature-256 missing or not the body's HMAC under the source's secretToken
//        (checked before anything in the body is read, in constant time);
//   400  a malformed delivery: no X-GitHub-Event / X-GitHub-Delivery, a payload that is not JSON;
//   200  a verified delivery of an event type the source does not list (GitHub's ping, say);
//   202  the sink took the event;  502  it did not, after GITHUB_DELIVERY's retries: GitHub
//        shows the failure and its "Redeliver" button sends it again.

/** Within GitHub's 10-second webhook timeout: two quick retries, then 502. */
export const GITHUB_DELIVERY: DeliveryPolicy = {
  retry: 2,
  backoffPolicy: "linear",
  backoffDelayMs: 200,
  timeoutMs: 3000,
  deadLetterSink: undefined,
};

export interface GitHubEndpoint {
  source: GitHubSourceRuntime;
  secret: string;
}

const PATH = /^\/([a-z0-9-]+)\/([a-z0-9-]+)\/?$/;

export function createGitHubHandler(options: {
  /** The endpoints now ("namespace/name"): sources applied at run time change them. */
  endpoints: () => ReadonlyMap<string, GitHubEndpoint>;
  maxBodyBytes: number;
  sink: SinkOptions;
  log: Logger;
}) {
  const { endpoints, maxBodyBytes, sink, log } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const match = PATH.exec(path);
    const endpoint = match ? endpoints().get(`${match[1]}/${match[2]}`) : undefined;
    if (!endpoint) return sendPlain(res, 404, `no GitHubSource at ${path}: they are at /{namespace}/{name}`);
    const { source, secret } = endpoint;
    const reject = (code: number, message: string, headers?: Record<string, string>) => {
      sink.metrics.event("GitHubSource", source.namespace, source.name, "rejected");
      sendPlain(res, code, message, headers);
    };
    if (req.method !== "POST") return reject(405, "a GitHub webhook is a POST", { allow: "POST" });
    const body = await readBody(req, maxBodyBytes);
    if (body === "too-large")
      return reject(413, `payload larger than ${maxBodyBytes} bytes`, { connection: "close" });
    const signature = req.headers["x-hub-signature-256"];
    if (!verifySignature(secret, body, Array.isArray(signature) ? signature[0] : signature))
      return reject(401, "X-Hub-Signature-256 is missing or does not match the payload");
    const converted = gitHubEvent(source, req.headers, body);
    if ("problem" in converted) return reject(400, converted.problem);
    if ("ignored" in converted) return sendPlain(res, 200, `ignored: ${converted.ignored}`);
    const outcome = await deliverToSink(source, converted.event, GITHUB_DELIVERY, sink);
    if (outcome === "delivered") {
      res.writeHead(202, { "content-length": "0" }).end();
      return;
    }
    log.warn(
      { source: `GitHubSource ${source.namespace}/${source.name}`, ...describeEvent(converted.event) },
      "the sink did not take a GitHub event",
    );
    sendPlain(res, 502, `the sink (${source.sink.describe}) did not accept the event`);
  };
}
