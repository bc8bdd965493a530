// The serve path: router → queue-proxy → app, per data path; charged with both sluice processes.
import { HOSTS, loopbackUrl } from "./lib/processes.ts";
import { pathName, type Scenario } from "./lib/scenario.ts";

export const serve: Scenario = {
  name: "serve",
  about: "router → queue-proxy → app (serve mode), per data path",
  plan: (processes, paths) =>
    paths.map((path) => ({
      name: pathName("router→qp", path),
      start: async () => {
        const router = await processes.router(path);
        const qp = await processes.queueProxy(path);
        return {
          name: pathName("router→qp", path),
          family: "serve",
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
