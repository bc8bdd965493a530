import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import { LeaderElector } from "../../platform/kubernetes/leader-election.ts";

// Which eventing replica runs the sources. Every replica serves the Broker ingress, the Trigger
// dispatcher (replicas share each Trigger's JetStream consumer) and GitHubSources' webhooks (the
// Service spreads deliveries over them); but a PingSource run on two replicas would tick twice and
// a NatsSource would deliver each message twice. So the replicas elect one on a Lease (the
// autoscaler's election, platform/kubernetes/leader-election.ts): it runs PingSources,
// KafkaSources and NatsSources, and writes the resources' status. A leader that loses the Lease
// stops them and campaigns again (its PingSources send no tick from that moment: runner.ts's
// followLeader); one that stops releases the Lease, so another takes over at its next try.

export interface SourceLeader {
  /** Whether this replica runs the sources (and writes status) now. */
  readonly leading: boolean;
  /** Starts campaigning; `changed` is called whenever `leading` changes. */
  start(changed: () => void): void;
  /** Stops campaigning; a leader releases the Lease. */
  stop(): Promise<void>;
}

/** No election (one replica, or SLUICE_LEASE_NAME unset): always the leader. */
export const SOLE_REPLICA: SourceLeader = { leading: true, start() {}, async stop() {} };

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
}

export function leaseLeader(kubeConfig: KubeConfig, lease: LeaseOptions, log: Logger): SourceLeader {
  let changed = () => {};
  let leading = false;
  const elector = new LeaderElector(kubeConfig, {
    ...lease,
    retryPeriodMs: Math.max(500, Math.floor(lease.leaseDurationMs / 7)),
    onStartedLeading: () => {
      leading = true;
      log.info({ identity: lease.identity, lease: lease.name }, "leading: running the sources");
      changed();
    },
    onStoppedLeading: (reason) => {
      leading = false;
      log.warn({ reason }, "no longer leading: sources stopped; campaigning again");
      changed();
    },
    onNewLeader: (identity) => log.info({ leader: identity }, "sources' leader"),
    onError: (error) =>
      log.warn(
        { err: (error as Error).message, lease: `${lease.namespace}/${lease.name}` },
        "leader election: cannot read or write the Lease; retrying (403: eventing's RBAC)",
      ),
  });
  return {
    get leading() {
      return leading;
    },
    start(onChange) {
      changed = onChange;
      elector.start();
    },
    async stop() {
      changed = () => {};
      await elector.stop({ release: true });
    },
  };
}
