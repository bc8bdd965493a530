// What a node's kube-proxy and cluster DNS give pods, for the test node: Services reachable at
// their ClusterIPs (service-proxy.ts) and their names (pod-hosts.ts turns `names` into each pod's
// /etc/hosts). Level-triggered: any Service or EndpointSlice event recomputes the whole table from
// the informers' caches and hands it over at once, so a missed or reordered event cannot leave a
// stale backend behind.
import { isIPv4 } from "node:net";
import * as k8s from "@kubernetes/client-node";
import { keepWatching } from "./rewatch.ts";
import { type Backend, type ProxyTable, startServiceProxy } from "./service-proxy.ts";

export interface ClusterServices {
  /** ClusterIP of each Service with one, by "namespace/name". */
  names(): Map<string, string>;
  /** Backends of a "clusterIP:port" now (undefined when not served), for tests and debugging. */
  backends(key: string): Backend[] | undefined;
  stop(): Promise<void>;
}

/** Ready endpoints of Service `name`, from its namespace's slices, for its port `portName` ("" when unnamed). */
export function readyBackends(
  slices: readonly k8s.V1EndpointSlice[],
  name: string,
  portName: string,
): Backend[] {
  const backends: Backend[] = [];
  for (const slice of slices) {
    if (slice.metadata?.labels?.["kubernetes.io/service-name"] !== name || slice.addressType !== "IPv4")
      continue;
    // The slice's port carries the resolved targetPort (a named containerPort becomes its number).
    const port = slice.ports?.find(
      (p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === "TCP",
    )?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // An unset condition means ready (discovery/v1); terminating endpoints are not ready.
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) backends.push({ ip: address, port });
    }
  }
  return backends;
}

/** The proxy table and names for these Services and EndpointSlices; `fixed` entries win. */
export function clusterTable(
  services: readonly k8s.V1Service[],
  slices: readonly k8s.V1EndpointSlice[],
  fixed: ProxyTable,
): { table: ProxyTable; names: Map<string, string> } {
  const table: ProxyTable = new Map(fixed);
  const names = new Map<string, string>();
  for (const service of services) {
    const clusterIP = service.spec?.clusterIP;
    // Headless Services ("None") and IPv6 ones have no address here.
    if (!clusterIP || !isIPv4(clusterIP)) continue;
    const namespace = service.metadata?.namespace ?? "default";
    const name = service.metadata?.name ?? "";
    names.set(`${namespace}/${name}`, clusterIP);
    const own = slices.filter((s) => s.metadata?.namespace === namespace);
    for (const port of service.spec?.ports ?? []) {
      if ((port.protocol ?? "TCP") !== "TCP") continue;
      const key = `${clusterIP}:${port.port}`;
      if (!fixed.has(key)) table.set(key, readyBackends(own, name, port.name ?? ""));
    }
  }
  return { table, names };
}

/**
 * Watches Services and EndpointSlices and serves every ClusterIP:port on `bridge`. `fixed` holds
 * entries the API has no endpoints for (the "kubernetes" Service, whose apiserver runs on loopback).
 * `onNames` is called with the Service addresses whenever they change.
 */
export async function startClusterServices({
  kubeConfig,
  bridge,
  fixed,
  onNames,
  debug,
}: {
  kubeConfig: k8s.KubeConfig;
  bridge: string;
  fixed: ProxyTable;
  onNames: (names: Map<string, string>) => void;
  debug: (message: string) => void;
}): Promise<ClusterServices> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
  const proxy = startServiceProxy({ bridge, debug });
  let names = new Map<string, string>();
  let namesKey = "";

  // Syncs run one at a time; events during one make exactly one more.
  let chain = proxy.apply(fixed);
  let pending = false;
  const services = k8s.makeInformer(kubeConfig, "/api/v1/services", () => core.listServiceForAllNamespaces());
  const slices = k8s.makeInformer(kubeConfig, "/apis/discovery.k8s.io/v1/endpointslices", () =>
    discovery.listEndpointSliceForAllNamespaces(),
  );
  const sync = () => {
    if (pending) return;
    pending = true;
    chain = chain
      .then(async () => {
        pending = false;
        const next = clusterTable(services.list(), slices.list(), fixed);
        await proxy.apply(next.table);
        const key = JSON.stringify([...next.names]);
        if (key !== namesKey) {
          names = next.names;
          namesKey = key;
          onNames(names);
        }
      })
      .catch((error) => debug(`cluster services: ${(error as Error).message}`));
  };
  for (const informer of [services, slices] as k8s.Informer<k8s.KubernetesObject>[]) {
    for (const verb of ["add", "update", "delete"] as const) informer.on(verb, sync);
  }
  const watches = [
    await keepWatching(services, (error) => debug(`service watch ended: ${error}`)),
    await keepWatching(slices, (error) => debug(`endpointslice watch ended: ${error}`)),
  ];
  sync();
  await chain;

  return {
    names: () => names,
    backends: (key) => proxy.backends(key),
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
      await chain;
      proxy.stop();
    },
  };
}
