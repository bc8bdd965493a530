// The references every run measures sluice against: the app itself and nginx one hop in front of
// it; and, on request, the floors: the bare node:http + undici forwarder (the floor for a Node
// proxy), sluice's raw path forwarding with nothing of the router (the floor for the router), and
// the same technique with none of sluice's code, with either llhttp build (the floor for the raw
// path itself), and two of those in a chain (the floor under router → queue-proxy).

import { LLHTTP_CHAIN_FLOOR, LLHTTP_FLOORS, RAW_FLOOR } from "./lib/goals.ts";
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
    "in front of the app, the bare node:http + undici forwarder (the floor for a Node proxy), the raw path with nothing of the router (its floor), llhttp on raw sockets with none of sluice's code, node's binding and undici's WebAssembly (the raw path's floor), and two of the node one chained (the floor under router→queue-proxy)",
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
    ...(["node", "wasm"] as const).map((parser) => ({
      name: LLHTTP_FLOORS[parser],
      start: async () => {
        const floor = await processes.llhttpForwarder(parser);
        return {
          name: LLHTTP_FLOORS[parser],
          family: "floor",
          url: loopbackUrl(floor.port),
          processes: [{ label: "llhttp-forwarder", pid: floor.pid }],
        };
      },
    })),
    {
      name: LLHTTP_CHAIN_FLOOR,
      start: async () => {
        const { front, back } = await processes.llhttpChain();
        return {
          name: LLHTTP_CHAIN_FLOOR,
          family: "floor",
          url: loopbackUrl(front.port),
          processes: [
            { label: "llhttp-forwarder", pid: front.pid },
            { label: "llhttp-forwarder 2", pid: back.pid },
          ],
        };
      },
    },
  ],
};
