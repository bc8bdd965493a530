// The serve path: router → queue-proxy → app, per data path; charged with both sluice processes.
// The router reaches the queue-proxy on its Unix socket, as `sluice up` runs pods, and over
// loopback TCP, as across pods on Kubernetes (the raw path only: node:http's takes TCP for both).
import type { DataPath } from "./lib/data-path.ts";
import { type BenchProcesses, HOSTS, loopbackUrl } from "./lib/processes.ts";
import { pathName, type Scenario } from "./lib/scenario.ts";

function serveTarget(processes: BenchProcesses, path: DataPath, tcp: boolean) {
  const name = pathName(tcp ? "router→qp tcp" : "router→qp", path);
  return {
    name,
    start: async () => {
      const router = await processes.router(path);
      const qp = await processes.queueProxy(path, tcp ? "tcp" : "socket");
      return {
        name,
        family: tcp ? "serve-tcp" : "serve",
        path,
        url: loopbackUrl(router.port),
        headers: tcp ? HOSTS.serveTcp : HOSTS.serve,
        processes: [
          { label: "router", pid: router.pid },
          { label: "queue-proxy", pid: qp.pid },
        ],
      };
    },
  };
}

export const serve: Scenario = {
  name: "serve",
  about:
    "router → queue-proxy → app (serve mode), per data path: on the queue-proxy's Unix socket and over TCP",
  plan: (processes, paths) =>
    paths.flatMap((path) => [
      serveTarget(processes, path, false),
      ...(path === "raw" ? [serveTarget(processes, path, true)] : []),
    ]),
};
