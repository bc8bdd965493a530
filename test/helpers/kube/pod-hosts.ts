// Service names for pods without a cluster DNS server: each pod gets its own /etc/hosts listing
// every Service's ClusterIP under the names cluster DNS would answer for it, and a resolv.conf
// that fails other names at once. test-node.ts bind-mounts both over /etc in the mount namespace
// `ip netns exec` makes for each container process, and rewrites them when Services change.
// Node's dns.lookup (and so fetch/undici) goes through getaddrinfo, which reads /etc/hosts on
// every lookup, so a Service made after the pod started resolves too.
import { writeFileSync } from "node:fs";

export const CLUSTER_DOMAIN = "cluster.local";

/** The hosts file of pod `name` at `ip` in `namespace`, given ClusterIPs by "namespace/service". */
export function hostsFile(
  pod: { name: string; ip: string; namespace: string },
  services: Map<string, string>,
): string {
  const lines = [
    "# Written by the sluice test node: Service names as cluster DNS would answer them.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `${pod.ip}\t${pod.name}`,
  ];
  for (const [key, clusterIP] of [...services].sort(([a], [b]) => a.localeCompare(b))) {
    const [namespace, service] = key.split("/");
    const names = [
      `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}`,
    ];
    // The bare name resolves in the pod's own namespace only (the first search domain).
    if (namespace === pod.namespace) names.push(service);
    lines.push(`${clusterIP}\t${names.join(" ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The resolv.conf of a pod in `namespace`: the search path a kubelet writes, and a nameserver on
 * the pod's own loopback where nothing listens, so a name not in /etc/hosts fails with a refused
 * query at once instead of waiting on the host's resolvers, which the pod cannot reach.
 */
export function resolvConf(namespace: string): string {
  return [
    "nameserver 127.0.0.1",
    `search ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`,
    "options ndots:5 attempts:1 timeout:1",
    "",
  ].join("\n");
}

/**
 * Writes `text` to `path` in place: the file is bind-mounted into running pods, and a mount holds
 * the inode, so replacing it by rename would leave them reading the old one.
 */
export function rewrite(path: string, text: string): void {
  writeFileSync(path, text);
}
