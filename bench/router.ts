// The router alone: serve mode straight to the app, one hop as nginx is, per data path, with
// tracing off (the default: no OTLP endpoint) and on, sampling 1 % and 100 % of requests into a
// collector stand-in that drops them (apps/otlp-sink.ts, not charged to the row). And, on request,
// the serve path through a router whose table holds 10,000 more services.
import type { DataPath } from "./lib/data-path.ts";
import { type BenchProcesses, HOSTS, loopbackUrl } from "./lib/processes.ts";
import { type PlannedTarget, pathName, type Scenario } from "./lib/scenario.ts";

/** The tracing rows: OTEL_TRACES_SAMPLER_ARG, and the row's name. Off is the plain "router" row. */
export const TRACED = [
  { sampled: 0.01, name: "router trace 1%", family: "router-trace-1%" },
  { sampled: 1, name: "router trace 100%", family: "router-trace-100%" },
] as const;

function routerTarget(
  processes: BenchProcesses,
  path: DataPath,
  name: string,
  family: string,
  sampled?: number,
): PlannedTarget {
  return {
    name: pathName(name, path),
    start: async () => {
      const router = await processes.router(path, 0, sampled);
      return {
        name: pathName(name, path),
        family,
        path,
        url: loopbackUrl(router.port),
        headers: HOSTS.alone,
        processes: [{ label: "router", pid: router.pid }],
      };
    },
  };
}

export const router: Scenario = {
  name: "router",
  about:
    "the router alone (serve mode straight to the app: one hop, as nginx), per data path; tracing off, at 1 % and at 100 %",
  plan: (processes, paths) =>
    paths.flatMap((path) => [
      routerTarget(processes, path, "router", "router"),
      ...TRACED.map(({ sampled, name, family }) => routerTarget(processes, path, name, family, sampled)),
    ]),
};

export const MANY_SERVICES = 10_000;

export const routerMany: Scenario = {
  name: "router-10k",
  about: "router → queue-proxy through a router holding 10,000 more services (compare with serve)",
  plan: (processes, paths) =>
    paths.map((path) => ({
      name: pathName("router(10k)→qp", path),
      start: async () => {
        const router = await processes.router(path, MANY_SERVICES);
        const qp = await processes.queueProxy(path);
        return {
          name: pathName("router(10k)→qp", path),
          family: "router-10k",
          path,
          url: loopbackUrl(router.port),
          headers: HOSTS.serve,
          processes: [
            { label: "router", pid: router.pid },
            { label: "queue-proxy", pid: qp.pid },
          ],
        };
      },
    })),
};
