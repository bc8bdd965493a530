import { parseArgs } from "node:util";
import { request } from "undici";
import { answered, authHeaders, autoscalerBase, DEFAULT_AUTOSCALER, unreachable } from "../autoscaler-url.ts";
import { clusterLogs } from "../cluster/pod-logs.ts";
import {
  ALL_NAMESPACES_OPTION,
  CLUSTER_OPTIONS,
  type ClusterTarget,
  clusterHelp,
  clusterTarget,
  conflictingOptions,
  TargetError,
} from "../cluster/target.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";

const CONNECT_TIMEOUT_MS = 10_000;

const HELP = `usage: sluice logs [SERVICE] [-f] [--revision R] [--tail N] [-n NAMESPACE] [--autoscaler URL]
       sluice logs [SERVICE] (--kubeconfig PATH | --context NAME | --cluster) [-n NS | -A] [-f]
                   [--revision R] [--tail N] [--container NAME] [--group G]

Prints what the pods of a service wrote to stdout and stderr, one line each, prefixed with the
pod: [hello-00001-001] GET / 200 3ms. Lines of all the service's pods come oldest first; the
platform keeps the last 1000 lines of each pod, including the last few pods that have exited.
Without SERVICE: every service's pods.

With a cluster (--kubeconfig, --context, --cluster or --group), the pods are found by their
serving.sluice.dev/service (and /revision) labels and their logs read through the API server
(pods/log): the serving container (user-container) unless --container names another (e.g.
queue-proxy). Lines of all pods come oldest first by the API server's timestamps; with -f every
pod is followed, and pods that start later are picked up; the prefix is the pod's name
(namespace/pod with -A).

options:
  -f, --follow           keep printing new lines as the pods write them, until Ctrl-C
  --revision R           only the pods of revision R
  --tail N               only the last N lines already written (with -f, 0 = only new lines)
  -n, --namespace NS     the service's namespace (default default)
  --autoscaler URL       the autoscaler (default ${DEFAULT_AUTOSCALER})
  --container NAME       with a cluster: the container to read (default the serving one)
  -h, --help             show this help

${clusterHelp(true)}

exit codes: 0 ok (or stopped with Ctrl-C), 1 the autoscaler or the cluster cannot be reached,
the service or revision is unknown (the known ones are listed), a call is forbidden, or the
autoscaler or API server went away while following; 2 bad usage`;

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      revision: { type: "string" },
      tail: { type: "string" },
      autoscaler: { type: "string" },
      container: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      ...CLUSTER_OPTIONS,
      ...ALL_NAMESPACES_OPTION,
    },
    strict: true,
    allowPositionals: true,
  });
}

/** Runs `run` with a signal that Ctrl-C, SIGTERM or a closed stdout (EPIPE) aborts. */
async function withStop(run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.stdout.on("error", onSignal);
  try {
    return await run(stop.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.off("error", onSignal);
  }
}

/** Writes to stdout, waiting when it is full; false once stdout is gone (e.g. `| head` ended). */
function write(chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (process.stdout.destroyed) return resolve(false);
    const ok = process.stdout.write(chunk, (error) => {
      if (error) resolve(false);
    });
    if (ok) resolve(true);
    else process.stdout.once("drain", () => resolve(true));
  });
}

export const logs: Command = async (args) => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    console.error(`sluice logs: ${(error as Error).message}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 1) {
    console.error(`sluice logs: one service at a time, got ${positionals.join(", ")}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (values.tail !== undefined && !/^\d+$/.test(values.tail)) {
    console.error(`sluice logs: --tail must be a whole number >= 0, got ${JSON.stringify(values.tail)}`);
    return EXIT_USAGE;
  }
  let target: ClusterTarget | undefined;
  try {
    target = clusterTarget(values);
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    console.error(`sluice logs: ${error.message}`);
    return EXIT_USAGE;
  }
  const conflict =
    conflictingOptions(target, values, true) ??
    (!target && values.container !== undefined
      ? "--container needs a cluster: give --kubeconfig PATH, --context NAME or --cluster"
      : undefined);
  if (conflict) {
    console.error(`sluice logs: ${conflict}`);
    return EXIT_USAGE;
  }
  if (target) {
    const cluster = target;
    return withStop((signal) =>
      clusterLogs(
        cluster,
        {
          service: positionals[0],
          revision: values.revision,
          container: values.container,
          follow: values.follow,
          tail: values.tail === undefined ? undefined : Number(values.tail),
        },
        (text) => write(Buffer.from(text)),
        signal,
      ),
    );
  }
  const autoscaler = values.autoscaler ?? DEFAULT_AUTOSCALER;
  const base = autoscalerBase(autoscaler);
  if (base === undefined) {
    console.error(`sluice logs: --autoscaler ${autoscaler} is not an http(s) URL`);
    return EXIT_USAGE;
  }
  const query = new URLSearchParams();
  if (positionals[0] !== undefined) query.set("service", positionals[0]);
  query.set("namespace", values.namespace ?? "default");
  if (values.revision !== undefined) query.set("revision", values.revision);
  if (values.tail !== undefined) query.set("tail", values.tail);
  if (values.follow) query.set("follow", "1");
  const url = `${base}/v1/logs?${query}`;

  // Ctrl-C (or SIGTERM) ends a follow: a normal way to stop, exit 0.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const onStdoutError = () => stop.abort(); // EPIPE: whoever read our output has gone
  process.stdout.on("error", onStdoutError);
  try {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        signal: stop.signal,
        headers: authHeaders(),
        headersTimeout: CONNECT_TIMEOUT_MS,
        bodyTimeout: 0, // a quiet pod can be quiet for a long time
      });
    } catch (error) {
      if (stop.signal.aborted) return EXIT_OK;
      console.error(`sluice logs: ${unreachable(base, error)}`);
      return EXIT_FAILED;
    }
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).trim().replace(/^logs: /, "");
      console.error(`sluice logs: ${res.statusCode === 404 ? text : answered(url, res.statusCode, text)}`);
      return EXIT_FAILED;
    }
    try {
      for await (const chunk of res.body) {
        if (!(await write(chunk as Buffer))) {
          res.body.destroy();
          return EXIT_OK;
        }
      }
    } catch (error) {
      if (stop.signal.aborted) return EXIT_OK;
      console.error(`sluice logs: lost the autoscaler at ${base}: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    if (values.follow && !stop.signal.aborted) {
      console.error(`sluice logs: the autoscaler at ${base} closed the stream (stopped?)`);
      return EXIT_FAILED;
    }
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.off("error", onStdoutError);
  }
};
