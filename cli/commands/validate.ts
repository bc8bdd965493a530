import { parseArgs } from "node:util";
import { applyToCluster } from "../cluster/apply-services.ts";
import {
  CLUSTER_OPTIONS,
  type ClusterTarget,
  clusterHelp,
  clusterTarget,
  conflictingOptions,
  TargetError,
} from "../cluster/target.ts";
import { type Command, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { checkEventing, eventingCount, splitFiles } from "../eventing-files.ts";
import { checkServices, readServiceFiles } from "../service-files.ts";

const HELP = `usage: sluice validate -f FILE [-f FILE…]
       sluice validate -f FILE [-f FILE…] (--kubeconfig PATH | --context NAME | --cluster) [-n NS] [--group G]

Checks Service files offline, with the same loader and checks the autoscaler runs; nothing needs
to be running. Every problem of every stage (schema, annotations, traffic, revision names, host
collisions) is printed at once, in reading order, as file:line:column: path: message. A field set
to null is absent, as in Kubernetes. Files given together are one input: the same service twice
is a problem unless each document names its revision (spec.template.metadata.name), and then they
are successive versions; two services answering on one host (a tag host {tag}-{service} that is
another service's name) is a problem naming both.

A traffic reference to a revision the files do not declare, and a container sluice cannot run
locally (image only, no command), are printed as notes: they may be fine where the files go.

Eventing resources in the same files (Broker, Trigger: eventing.knative.dev/v1; KafkaSource,
PingSource, SinkBinding: sources.knative.dev; GitHubSource; NatsSource: sources.sluice.dev/v1)
are checked with the eventing component's own loader and checks, with the same
file:line:column; a Trigger's Broker that the files do not declare is a note.

With a cluster (--kubeconfig, --context, --cluster or --group), the same checks for Kubernetes
(Knative's container rules; apiVersion serving.sluice.dev/v1 accepted; traffic and hosts checked
against the cluster's revisions and services), then a server-side dry run of every Service
(dryRun=All: the CRD's schema and CEL rules, admission), so what apply would meet shows here;
nothing is written. Eventing resources too: eventing's checks, a Trigger's Broker looked for in the
files and on the cluster (missing: a problem, not a note), then their own dry run; without the
chart's Eventing CRDs, exit 1 saying how to install them.

options:
  -f, --filename FILE  a Service file (YAML or JSON, --- between documents) or a directory
                       (its *.yaml, *.yml and *.json files); repeatable
  -h, --help           show this help

${clusterHelp(false)}

exit codes: 0 valid (one summary line per service), 2 invalid (here or refused by the API
server's dry run), unreadable or bad usage, 1 the cluster cannot be reached, the CRD is missing
or a call is forbidden`;

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      filename: { type: "string", short: "f", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
      ...CLUSTER_OPTIONS,
    },
    strict: true,
    allowPositionals: true,
  });
}

export const validate: Command = async (args) => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    console.error(`sluice validate: ${(error as Error).message}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  let target: ClusterTarget | undefined;
  try {
    target = clusterTarget(parsed.values);
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    console.error(`sluice validate: ${error.message}`);
    return EXIT_USAGE;
  }
  const conflict = conflictingOptions(target, parsed.values, false);
  if (conflict) {
    console.error(`sluice validate: ${conflict}`);
    return EXIT_USAGE;
  }
  const paths = [...parsed.values.filename, ...parsed.positionals];
  if (paths.length === 0) {
    console.error(`sluice validate: no files: give -f FILE or -f DIRECTORY\n\n${HELP}`);
    return EXIT_USAGE;
  }
  if (target) return applyToCluster(target, paths, { write: false, command: "sluice validate" });
  const { files, problems: unreadable } = readServiceFiles(paths);
  const split = splitFiles(files);
  const checked = checkServices(split.services);
  const eventing = checkEventing(split.eventing);
  const problems = [
    ...unreadable.map((p) => `${p.file}: ${p.message}`),
    ...checked.problems,
    ...eventing.problems,
  ];
  for (const note of [...checked.notes, ...eventing.notes]) console.log(`note: ${note}`);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error(
      `invalid: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${paths.join(", ")}`,
    );
    return EXIT_USAGE;
  }
  for (const summary of [...checked.summaries, ...eventing.summaries]) console.log(summary);
  const resources = eventingCount(eventing.loaded);
  const also = resources > 0 ? ` and ${resources} eventing resource${resources === 1 ? "" : "s"}` : "";
  console.log(
    `valid: ${checked.summaries.length} service${checked.summaries.length === 1 ? "" : "s"}${also} in ${files.length} file${files.length === 1 ? "" : "s"}`,
  );
  return EXIT_OK;
};
