// The references every run measures sluice against: the app itself and nginx one hop in front of
// it; and, on request, the bare node:http + undici forwarder (the floor for a Node proxy).

import { NGINX } from "./lib/nginx.ts";
import { loopbackUrl } from "./lib/processes.ts";
import type { Scenario } from "./lib/scenario.ts";

export const references: Scenario = {
  name: "references",
  about: "the app direct and nginx one hop in front of it (always in the run: every ratio is to nginx)",
  plan: (processes) => [
    {
      name: "direct",
      start: async () => {
        const app = await processes.app();
        return {
          name: "direct",
          family: "reference",
          url: loopbackUrl(app.port),
          processes: [{ label: "app", pid: app.pid }],
        };
      },
    },
    {
      name: "nginx",
      start: async () => {
        if (!NGINX)
          throw new Error(
            "not installed (looked for /usr/sbin/nginx and on PATH); apt-get install nginx-light",
          );
        const nginx = await processes.nginx();
        return {
          name: "nginx",
          family: "reference",
          url: loopbackUrl(nginx.port),
          processes: [{ label: "nginx", pid: nginx.pid, tree: true }],
        };
      },
    },
  ],
};

export const floor: Scenario = {
  name: "floor",
  about: "the bare node:http + undici forwarder in front of the app: the floor for a Node proxy",
  plan: (processes) => [
    {
      name: "bare-forwarder",
      start: async () => {
        const bare = await processes.bareForwarder();
        return {
          name: "bare-forwarder",
          family: "floor",
          url: loopbackUrl(bare.port),
          processes: [{ label: "bare-forwarder", pid: bare.pid }],
        };
      },
    },
  ],
};
