// The proxy path: router → activator → queue-proxy → app, per data path; charged with all three.
import { HOSTS, loopbackUrl } from "./lib/processes.ts";
import { pathName, type Scenario } from "./lib/scenario.ts";

export const proxy: Scenario = {
  name: "proxy",
  about: "router → activator → queue-proxy → app (proxy mode), per data path",
  plan: (processes, paths) =>
    paths.map((path) => ({
      name: pathName("router→act→qp", path),
      start: async () => {
        const router = await processes.router(path);
        const activator = await processes.activator(path);
        const qp = await processes.queueProxy(path);
        return {
          name: pathName("router→act→qp", path),
          family: "proxy",
          path,
          url: loopbackUrl(router.port),
          headers: HOSTS.proxy,
          processes: [
            { label: "router", pid: router.pid },
            { label: "activator", pid: activator.pid },
            { label: "queue-proxy", pid: qp.pid },
          ],
        };
      },
    })),
};
