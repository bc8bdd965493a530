import { parseArgs } from "node:util";

export interface UpOptions {
  /** Files and directories as given (see readServiceFiles). */
  files: string[];
  routerPort: number;
  autoscalerPort: number;
  domain: string | undefined;
  stateDir: string | undefined;
  /** --max-pods: the local platform's capacity (SLUICE_LOCAL_MAX_PODS); undefined: the machine's. */
  maxPods: number | undefined;
  /** --nats URL: a running nats-server with JetStream for Eventing, instead of starting one. */
  natsUrl: string | undefined;
  /** --kafka host:port: a running Kafka for KafkaSources on 127.0.0.1, instead of starting one. */
  kafka: string | undefined;
  /** --eventing-port: the Broker ingress's port when the files hold Eventing resources. */
  eventingPort: number;
  /** --prometheus, --jaeger: run the tool beside sluice (cli/up/observability-tools.ts). */
  prometheus: boolean;
  jaeger: boolean;
  verbose: boolean;
  help: boolean;
}

export const UP_USAGE = `usage: sluice up [-f file|dir]… [options]

Runs the whole data plane locally: the autoscaler (with the local platform that starts pods),
the activator and the router, each its own process, on the Service files given (default: the
examples/ folder), and Eventing (nats-server and the eventing component) when the files hold
Brokers, Triggers or sources. Services start at zero pods; the first request starts one. A
component that dies is restarted (same ports, back-off from 0.5 s); one that dies 5 times
within 60 s stops everything. Ctrl-C stops everything and leaves no process behind.

options:
  -f, --filename PATH      a Service file (YAML or JSON) or a directory of them; repeatable
  --router-port N          the router's port (default 8080; 0 picks a free one)
  --autoscaler-port N      the autoscaler's port, also the status page (default 8090; 0 = free)
  --domain D               the domain of service hosts (default example.com)
  --state-dir DIR          where revision history is kept (default .sluice)
  --max-pods N             pods that run at once, all services together; more wait as pending
                           (default: 4 per core, bounded by free memory; SLUICE_LOCAL_MAX_PODS)
  --eventing-port N        the Broker ingress's port, when the files hold Brokers, Triggers or
                           sources (default 8070; 0 = free); sluice up then also runs nats-server
                           (PATH or scripts/tools/build.sh nats-server) and the eventing component
  --nats URL               use this nats-server (with JetStream) instead of starting one
  --kafka HOST:PORT        for KafkaSources on 127.0.0.1: use this Kafka instead of starting one
                           (otherwise the address they name is used when something listens
                           there, else sluice up starts one from scripts/tools/build.sh kafka)
  --prometheus             also run Prometheus (Debian's prometheus), scraping every component
                           and pod through the autoscaler, with sluice's rules; prints its URL
  --jaeger                 also run Jaeger (scripts/tools/build.sh jaeger) and send it every
                           component's traces (OTEL_EXPORTER_OTLP_ENDPOINT); prints its URL
  -v, --verbose            show every component's log lines and pid, not just warnings and scaling
  -h, --help               this text

exit codes: 0 stopped by Ctrl-C/SIGTERM, 1 a component failed to start or kept dying,
2 bad usage or invalid files`;

export class UsageError extends Error {}

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new UsageError(`${flag} ${value}: expected a port number from 0 to 65535`);
  return parsed;
}

function maxPods(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100_000)
    throw new UsageError(`--max-pods ${value}: expected a whole number of pods from 1 to 100000`);
  return parsed;
}

function natsUrl(value: string | undefined): string | undefined {
  if (value !== undefined && !/^(nats|tls):\/\/[^/]+$/.test(value))
    throw new UsageError(`--nats ${value}: expected nats://host:port`);
  return value;
}

function kafkaAddress(value: string | undefined): string | undefined {
  if (value !== undefined && !/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/.test(value))
    throw new UsageError(`--kafka ${value}: expected host:port of a Kafka broker, such as 127.0.0.1:9092`);
  return value;
}

export function parseUpArgs(args: string[], defaultFiles: string[]): UpOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        filename: { type: "string", short: "f", multiple: true },
        "router-port": { type: "string" },
        "autoscaler-port": { type: "string" },
        domain: { type: "string" },
        "state-dir": { type: "string" },
        "max-pods": { type: "string" },
        "eventing-port": { type: "string" },
        nats: { type: "string" },
        kafka: { type: "string" },
        prometheus: { type: "boolean", default: false },
        jaeger: { type: "boolean", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}" (files go after -f)`);
  const help = values.help === true;
  const domain = values.domain as string | undefined;
  if (
    domain !== undefined &&
    !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)
  )
    throw new UsageError(`--domain ${domain}: expected a DNS name such as example.com`);
  return {
    files: (values.filename as string[] | undefined) ?? defaultFiles,
    routerPort: port("--router-port", values["router-port"] as string | undefined, 8080),
    autoscalerPort: port("--autoscaler-port", values["autoscaler-port"] as string | undefined, 8090),
    domain,
    stateDir: values["state-dir"] as string | undefined,
    maxPods: maxPods(values["max-pods"] as string | undefined),
    natsUrl: natsUrl(values.nats as string | undefined),
    kafka: kafkaAddress(values.kafka as string | undefined),
    eventingPort: port("--eventing-port", values["eventing-port"] as string | undefined, 8070),
    prometheus: values.prometheus === true,
    jaeger: values.jaeger === true,
    verbose: values.verbose === true,
    help,
  };
}
