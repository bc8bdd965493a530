import { parseArgs } from "node:util";
import { request } from "undici";
import { answered, authHeaders, autoscalerBase, DEFAULT_AUTOSCALER, unreachable } from "../autoscaler-url.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";

const CONNECT_TIMEOUT_MS = 10_000;

const HELP = `usage: sluice logs [SERVICE] [-f] [--revision R] [--tail N] [-n NAMESPACE] [--autoscaler URL]

Prints what the pods of a service wrote to stdout and stderr, one line each, prefixed with the
pod: [hello-00001-001] GET / 200 3ms. Lines of all the service's pods come oldest first; the
platform keeps the last 1000 lines of each pod, including the last few pods that have exited.
Without SERVICE: every service's pods.

options:
  -f, --follow           keep printing new lines as the pods write them, until Ctrl-C
  --revision R           only the pods of revision R
  --tail N               only the last N lines already written (with -f, 0 = only new lines)
  -n, --namespace NS     the service's namespace (default default)
  --autoscaler URL       the autoscaler (default ${DEFAULT_AUTOSCALER})
  -h, --help             show this help

exit codes: 0 ok (or stopped with Ctrl-C), 1 the autoscaler cannot be reached, the service or
revision is unknown (the known ones are listed), or the autoscaler went away while following;
2 bad usage`;

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      revision: { type: "string" },
      tail: { type: "string" },
      namespace: { type: "string", short: "n", default: "default" },
      autoscaler: { type: "string", default: DEFAULT_AUTOSCALER },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
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
  const base = autoscalerBase(values.autoscaler);
  if (base === undefined) {
    console.error(`sluice logs: --autoscaler ${values.autoscaler} is not an http(s) URL`);
    return EXIT_USAGE;
  }
  if (values.tail !== undefined && !/^\d+$/.test(values.tail)) {
    console.error(`sluice logs: --tail must be a whole number >= 0, got ${JSON.stringify(values.tail)}`);
    return EXIT_USAGE;
  }
  const query = new URLSearchParams();
  if (positionals[0] !== undefined) query.set("service", positionals[0]);
  query.set("namespace", values.namespace);
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
