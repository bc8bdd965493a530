import type { IncomingMessage, ServerResponse } from "node:http";
import { sendPlain } from "../../common/http/respond.ts";

// /v1/eventing on Kubernetes: GET as always (the status), but no PUT — the resources are the API
// server's, and something applied beside them would be served unseen there and lost on restart.

type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export function readOnlyInKubernetes(platform: "local" | "kubernetes", route: Route): Route {
  if (platform !== "kubernetes") return route;
  return (req, res) => {
    if (req.method === "PUT")
      return sendPlain(
        res,
        405,
        "eventing: on Kubernetes, Brokers, Triggers and sources come from the API server: kubectl apply -f them",
        { allow: "GET" },
      );
    return route(req, res);
  };
}
