// The router alone: serve mode straight to the app, one hop as nginx is, per data path. And, on
// request, the serve path through a router whose table holds 10,000 more services.
import { HOSTS, loopbackUrl } from "./lib/processes.ts";
import { pathName, type Scenario } from "./lib/scenario.ts";

export const router: Scenario = {
  name: "router",
  about: "the router alone (serve mode straight to the app: one hop, as nginx), per data path",
  plan: (processes, paths) =>
    paths.map((path) => ({
      name: pathName("router", path),
      start: async () => {
        const router = await processes.router(path);
        return {
          name: pathName("router", path),
          family: "router",
          path,
          url: loopbackUrl(router.port),
          headers: HOSTS.alone,
          processes: [{ label: "router", pid: router.pid }],
        };
      },
    })),
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
