// The part of the kubelet's HTTPS API the API server calls for pods/log: GET
// /containerLogs/{namespace}/{pod}/{container}, with follow, tailLines, sinceSeconds, sinceTime,
// timestamps, limitBytes and previous, as the apiserver passes them through. It serves on the
// node's InternalIP at the port the Node publishes in status.daemonEndpoints.kubeletEndpoint;
// the apiserver verifies a kubelet's certificate only when given --kubelet-certificate-authority
// (control-plane.ts gives none), so a self-signed one will do.
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { ContainerLog, LogLine } from "./container-logs.ts";

/** The log of a container, or why there is none (the text of a 404). */
export type FindLog = (namespace: string, pod: string, container: string) => ContainerLog | string;

export interface KubeletServer {
  port: number;
  close(): void;
}

function fail(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${message}\n`);
}

/** Listens on `host` at a free port with the PEM certificate and key at `tls`. */
export async function startKubeletServer({
  host,
  tls,
  find,
}: {
  host: string;
  tls: { cert: string; key: string };
  find: FindLog;
}): Promise<KubeletServer> {
  const server: Server = createServer(
    { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    (req, res) => {
      const url = new URL(req.url ?? "/", "https://kubelet");
      const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (req.method !== "GET" || !match)
        return fail(res, 404, `${url.pathname}: not served by the test node`);
      const [namespace, pod, container] = match.slice(1).map(decodeURIComponent);
      const log = find(namespace, pod, container);
      if (typeof log === "string") return fail(res, 404, log);
      const query = url.searchParams;
      const previous = query.get("previous") === "true";
      const instance = log.instance(previous);
      if (!instance) {
        return fail(
          res,
          previous ? 400 : 404,
          previous
            ? `previous terminated container "${container}" in pod "${pod}" not found`
            : `container "${container}" in pod "${pod}" has not started`,
        );
      }

      const sinceSeconds = query.get("sinceSeconds");
      const sinceTime = query.get("sinceTime");
      const since = sinceSeconds
        ? Date.now() - Number(sinceSeconds) * 1000
        : sinceTime
          ? Date.parse(sinceTime)
          : Number.NEGATIVE_INFINITY;
      const timestamps = query.get("timestamps") === "true";
      const tailLines = query.get("tailLines");
      let budget = query.get("limitBytes") ? Number(query.get("limitBytes")) : Number.POSITIVE_INFINITY;

      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      // Returns false once limitBytes is spent (the response has then ended).
      const write = (line: LogLine): boolean => {
        const text = `${timestamps ? `${line.time.toISOString()} ` : ""}${line.text}\n`;
        const bytes = Buffer.from(text);
        if (bytes.length >= budget) {
          res.end(bytes.subarray(0, budget));
          return false;
        }
        budget -= bytes.length;
        res.write(bytes);
        return true;
      };
      let lines = instance.lines.filter((l) => l.time.getTime() >= since);
      if (tailLines !== null) lines = lines.slice(Math.max(0, lines.length - Number(tailLines)));
      for (const line of lines) if (!write(line)) return;
      if (query.get("follow") !== "true" || instance.ended) {
        res.end();
        return;
      }
      // Follow: new lines until the container instance ends or the client goes away.
      const onLine = (line: LogLine) => {
        if (!write(line)) done();
      };
      const onEnd = () => {
        done();
        res.end();
      };
      const done = () => {
        instance.events.off("line", onLine);
        instance.events.off("end", onEnd);
      };
      instance.events.on("line", onLine);
      instance.events.once("end", onEnd);
      res.once("close", done);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
