// A stand-in for the autoscaler's state watch, so router tests choose exactly what state the
// router sees and when (mode switches, table swaps) without running the KPA.
import { createServer, type ServerResponse } from "node:http";
import { formatEvent } from "../../common/sse.ts";
import {
  type DataPlaneState,
  type RevisionState,
  revisionKey,
  type ServiceState,
} from "../../common/state.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface FakeAutoscaler {
  url: string;
  state: DataPlaneState;
  /** Sends the whole state as a new snapshot to every watcher. */
  publish(state: DataPlaneState): void;
  /** Closes the server and every watch (the router should keep its last state). */
  stop(): Promise<void>;
}

export async function startFakeAutoscaler(t: Teardown, initial: DataPlaneState): Promise<FakeAutoscaler> {
  const watchers = new Set<ServerResponse>();
  const fake = {
    url: "",
    state: initial,
    publish(state: DataPlaneState) {
      fake.state = state;
      for (const res of watchers) res.write(formatEvent("snapshot", { type: "snapshot", state }));
    },
    stop: async () => {
      for (const res of watchers) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/state?watch=1")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(formatEvent("snapshot", { type: "snapshot", state: fake.state }));
      watchers.add(res);
      res.once("close", () => watchers.delete(res));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  t.teardown(() => fake.stop());
  return fake;
}

export function revisionState(
  name: string,
  service: string,
  over: Partial<RevisionState> = {},
): RevisionState {
  return {
    name,
    service,
    namespace: "default",
    mode: "serve",
    containerConcurrency: 0,
    timeoutSeconds: 60,
    protocol: "http1",
    desiredPods: 1,
    endpoints: [],
    ...over,
  };
}

export function serviceState(
  name: string,
  traffic: ServiceState["traffic"],
  tags: ServiceState["tags"] = {},
  domain = "example.com",
): ServiceState {
  return {
    name,
    namespace: "default",
    hosts: [`${name}.default.${domain}`, `${name}.default`, name],
    traffic,
    tags,
  };
}

export function stateOf(
  services: ServiceState[],
  revisions: RevisionState[],
  generation = 1,
): DataPlaneState {
  return {
    generation,
    domain: "example.com",
    services: Object.fromEntries(services.map((s) => [`${s.namespace}/${s.name}`, s])),
    revisions: Object.fromEntries(revisions.map((r) => [revisionKey(r.namespace, r.name), r])),
  };
}
