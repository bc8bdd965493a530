// The queue-proxy alone in front of the app (containerConcurrency 0), on each data path.
import { existsSync } from "node:fs";
import { loopbackUrl, QUEUE_PROXY_MAIN } from "./lib/processes.ts";
import { pathName, type Scenario } from "./lib/scenario.ts";

export const queueProxy: Scenario = {
  name: "queue-proxy",
  about: "the queue-proxy alone in front of the app, per data path",
  plan: (processes, paths) =>
    paths.map((path) => ({
      name: pathName("queue-proxy", path),
      start: async () => {
        if (!existsSync(QUEUE_PROXY_MAIN)) throw new Error("queue-proxy/main.ts missing");
        const qp = await processes.queueProxy(path);
        return {
          name: pathName("queue-proxy", path),
          family: "queue-proxy",
          path,
          url: loopbackUrl(qp.port),
          processes: [{ label: "queue-proxy", pid: qp.pid }],
        };
      },
    })),
};
