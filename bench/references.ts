// The references every run measures sluice against: the app itself and nginx one hop in front of
// it; and, on request, the floors: the bare node:http + undici forwarder (the floor for a Node
// proxy) and sluice's raw path forwarding with nothing of the router (the floor for the router).

import { RAW_FLOOR } from "./lib/goals.ts";
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
  about:
    "in front of the app, the bare node:http + undici forwarder (the floor for a Node proxy) and the raw path with nothing of the router (its floor)",
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
    {
      name: RAW_FLOOR,
      start: async () => {
        const raw = await processes.rawForwarder();
        return {
          name: RAW_FLOOR,
          family: "floor",
          url: loopbackUrl(raw.port),
          processes: [{ label: "raw-forwarder", pid: raw.pid }],
        };
      },
    },
  ],
};
