// `sluice apply` and `sluice validate` against a cluster: the files are checked here as locally
// (file:line:column; Services with the serving loader, Brokers, Triggers and sources with
// eventing's), then against what the cluster has (its revisions, services and Brokers), then every
// document goes through a server-side dry run (the CRD's schema and CEL rules), and only when all
// of that passes does apply write them, each with server-side apply. Nothing is written unless
// every document of every kind passed every stage.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { apiStatus } from "../../platform/kubernetes/api-status.ts";
import { KubeClient } from "../../platform/kubernetes/kube-client.ts";
import type { ServiceDraft } from "../../serving/draft.ts";
import type { LoadedService } from "../../serving/load.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { splitFiles } from "../eventing-files.ts";
import { checkServices, readServiceFiles, serviceId } from "../service-files.ts";
import { ClusterFailed, describeApiError, serverMessage } from "./api-error.ts";
import { applyEventing, eventingResource, listBrokers } from "./apply-eventing.ts";
import { checkClusterEventing, eventingId } from "./eventing-check.ts";
import { type ApplyOutcome, serverSideApply } from "./server-apply.ts";
import type { ClusterTarget } from "./target.ts";

interface ClusterState {
  revisions: Map<string, string[]>;
  services: ServiceDraft[];
}

/** The revisions of the services in the files and every service of their namespaces. */
async function readClusterState(target: ClusterTarget, services: readonly LoadedService[]) {
  const client = new KubeClient(target.kubeConfig, { group: target.group });
  const state: ClusterState = { revisions: new Map(), services: [] };
  const namespaces = [...new Set(services.map((s) => s.manifest.metadata.namespace ?? target.namespace))];
  const resource = (plural: string) => `${plural}.${target.group}`;
  for (const namespace of namespaces) {
    try {
      const listed = await client.listServices(namespace);
      state.services.push(...listed.map(({ status: _status, ...rest }) => rest as ServiceDraft));
    } catch (error) {
      throw new ClusterFailed(
        describeApiError(error, { verb: "list", resource: resource("services"), namespace }, target),
      );
    }
  }
  for (const { manifest } of services) {
    const namespace = manifest.metadata.namespace ?? target.namespace;
    const key = `${namespace}/${manifest.metadata.name}`;
    if (state.revisions.has(key)) continue;
    try {
      const revisions = await client.listRevisions(namespace, manifest.metadata.name);
      state.revisions.set(
        key,
        revisions.flatMap((revision) => revision.metadata.name ?? []),
      );
    } catch (error) {
      throw new ClusterFailed(
        describeApiError(error, { verb: "list", resource: resource("revisions"), namespace }, target),
      );
    }
  }
  return state;
}

function printProblems(problems: readonly string[], action: string): void {
  for (const problem of problems) console.error(problem);
  console.error(`invalid: ${problems.length} problem${problems.length === 1 ? "" : "s"}; ${action}`);
}

export interface ClusterApplyOptions {
  /** validate: the dry run only; apply: the dry run, then the writes. */
  write: boolean;
  /** "sluice apply" or "sluice validate", for messages. */
  command: string;
}

/** One document to dry-run and write: a Service or an Eventing resource. */
interface Pending {
  /** "hello", "staging/hello", "Trigger default/orders": how its line starts. */
  id: string;
  file: string;
  line: number;
  resource: string;
  namespace: string;
  send(dryRun: boolean): Promise<ApplyOutcome>;
}

/** Runs apply (write) or validate (dry run only) against the cluster; answers the exit code. */
export async function applyToCluster(
  target: ClusterTarget,
  paths: readonly string[],
  options: ClusterApplyOptions,
): Promise<number> {
  const nothing = options.write ? "nothing was applied" : "nothing was sent";
  const { files, problems: unreadable } = readServiceFiles(paths);
  if (unreadable.length > 0) {
    for (const problem of unreadable) console.error(`${problem.file}: ${problem.message}`);
    console.error(options.write ? "nothing was applied" : `invalid: ${unreadable.length} unreadable`);
    return EXIT_USAGE;
  }
  // Services and Eventing resources (Brokers, Triggers, sources) may share files.
  const split = splitFiles(files);
  const cluster = { namespace: target.namespace, namespaceGiven: target.namespaceGiven };
  // First the files alone: what is wrong with them needs no cluster to say.
  const offline = checkServices(split.services, undefined, [], cluster);
  const offlineEventing = checkClusterEventing(split.eventing, cluster, "unknown");
  if (offline.problems.length + offlineEventing.problems.length > 0) {
    printProblems([...offline.problems, ...offlineEventing.problems], nothing);
    return EXIT_USAGE;
  }

  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    // Then against the cluster: traffic to revisions it has, hosts its services answer on, and
    // the Brokers Triggers and sinks name.
    const state = await readClusterState(target, offline.services);
    const brokers =
      offlineEventing.documents.length === 0
        ? new Set<string>()
        : await listBrokers(
            target,
            offlineEventing.documents.map((d) => d.manifest.metadata.namespace ?? target.namespace),
          );
    const checked = checkServices(
      split.services,
      (namespace, name) => state.revisions.get(`${namespace}/${name}`) ?? [],
      state.services,
      cluster,
    );
    const eventing = checkClusterEventing(split.eventing, cluster, brokers);
    if (checked.problems.length + eventing.problems.length > 0) {
      printProblems([...checked.problems, ...eventing.problems], nothing);
      return EXIT_USAGE;
    }
    // As locally: validate prints notes with its findings, apply beside its errors.
    for (const note of checked.notes) (options.write ? console.error : console.log)(`note: ${note}`);

    // Every document, in order (several documents of one service are its successive versions).
    const pending: Pending[] = [
      ...checked.services.map(({ manifest, file, line }) => ({
        id: serviceId(manifest),
        file,
        line,
        resource: `services.${target.group}`,
        namespace: manifest.metadata.namespace ?? target.namespace,
        send: (dryRun: boolean) => serverSideApply(api, target.group, manifest, dryRun),
      })),
      ...eventing.documents.map(({ manifest, file, line }) => {
        const resource = eventingResource(manifest);
        return {
          id: eventingId(manifest),
          file,
          line,
          resource: `${resource.plural}.${resource.group}`,
          namespace: manifest.metadata.namespace ?? target.namespace,
          send: (dryRun: boolean) => applyEventing(target, manifest, dryRun),
        };
      }),
    ];
    const failure = (error: unknown, document: Pending) =>
      describeApiError(
        error,
        { verb: "patch", resource: document.resource, namespace: document.namespace },
        target,
      );

    // The API server's own checks (schema, CEL) for every document, writing nothing.
    const refused: string[] = [];
    for (const document of pending) {
      try {
        await document.send(true);
      } catch (error) {
        if (error instanceof ClusterFailed) throw error;
        const status = apiStatus(error);
        if (status === 422 || status === 400)
          refused.push(
            `${document.file}:${document.line}: ${document.id}: refused by the API server: ${serverMessage(error)}`,
          );
        else throw new ClusterFailed(`${document.id}: ${failure(error, document)}`);
      }
    }
    if (refused.length > 0) {
      for (const line of refused) console.error(line);
      console.error(`invalid: ${refused.length} refused by the API server at ${target.server}; ${nothing}`);
      // validate: invalid input (2); apply: the cluster refused (1).
      return options.write ? EXIT_FAILED : EXIT_USAGE;
    }

    if (!options.write) {
      for (const summary of [...checked.summaries, ...eventing.summaries]) console.log(summary);
      const services = `${checked.summaries.length} service${checked.summaries.length === 1 ? "" : "s"}`;
      const resources = eventing.documents.length;
      const also = resources > 0 ? ` and ${resources} eventing resource${resources === 1 ? "" : "s"}` : "";
      console.log(
        `valid: ${services}${also} in ${files.length} file${files.length === 1 ? "" : "s"} (the API server at ${target.server} accepts ${pending.length === 1 ? "it" : "them"}: dry run)`,
      );
      return EXIT_OK;
    }

    for (const [index, document] of pending.entries()) {
      let outcome: ApplyOutcome;
      try {
        outcome = await document.send(false);
      } catch (error) {
        const done = pending.slice(0, index).map((d) => d.id);
        const status = apiStatus(error);
        const why =
          error instanceof ClusterFailed
            ? error.message
            : status === 422 || status === 400
              ? `refused by the API server: ${serverMessage(error)}`
              : failure(error, document);
        throw new ClusterFailed(
          `${document.id}: ${why}${done.length > 0 ? `; applied before it: ${done.join(", ")}` : ""}`,
        );
      }
      console.log(`${document.id}: ${outcome}`);
    }
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof ClusterFailed)) throw error;
    console.error(`${options.command}: ${error.message}`);
    return EXIT_FAILED;
  }
}
