// `sluice apply` and `sluice validate` against a cluster: the files are checked here as locally
// (file:line:column), then against what the cluster has (its revisions and services), then every
// Service goes through a server-side dry run (the CRD's schema and CEL rules), and only when all
// of that passes does apply write them, each with server-side apply. Nothing is written unless
// every document passed every stage.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { apiStatus } from "../../platform/kubernetes/api-status.ts";
import { KubeClient } from "../../platform/kubernetes/kube-client.ts";
import type { ServiceDraft } from "../../serving/draft.ts";
import type { LoadedService } from "../../serving/load.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { type CheckedServices, checkServices, readServiceFiles, serviceId } from "../service-files.ts";
import { describeApiError, serverMessage } from "./api-error.ts";
import { type ApplyOutcome, serverSideApply } from "./server-apply.ts";
import type { ClusterTarget } from "./target.ts";

/** A failure to talk to the cluster, already described: printed, exit 1. */
class ClusterFailed extends Error {}

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

function printProblems(checked: CheckedServices, action: string): void {
  for (const problem of checked.problems) console.error(problem);
  console.error(
    `invalid: ${checked.problems.length} problem${checked.problems.length === 1 ? "" : "s"}; ${action}`,
  );
}

export interface ClusterApplyOptions {
  /** validate: the dry run only; apply: the dry run, then the writes. */
  write: boolean;
  /** "sluice apply" or "sluice validate", for messages. */
  command: string;
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
  const cluster = { namespace: target.namespace, namespaceGiven: target.namespaceGiven };
  // First the files alone: what is wrong with them needs no cluster to say.
  const offline = checkServices(files, undefined, [], cluster);
  if (offline.problems.length > 0) {
    printProblems(offline, nothing);
    return EXIT_USAGE;
  }

  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    // Then against the cluster: traffic to revisions it has, hosts its services answer on.
    const state = await readClusterState(target, offline.services);
    const checked = checkServices(
      files,
      (namespace, name) => state.revisions.get(`${namespace}/${name}`) ?? [],
      state.services,
      cluster,
    );
    if (checked.problems.length > 0) {
      printProblems(checked, nothing);
      return EXIT_USAGE;
    }
    // As locally: validate prints notes with its findings, apply beside its errors.
    for (const note of checked.notes) (options.write ? console.error : console.log)(`note: ${note}`);

    // The API server's own checks (schema, CEL) for every Service, writing nothing.
    // Every document, in order (several documents of one service are its successive versions).
    const services = checked.services;
    const refused: string[] = [];
    for (const { manifest, file, line } of services) {
      try {
        await serverSideApply(api, target.group, manifest, true);
      } catch (error) {
        const status = apiStatus(error);
        const namespace = manifest.metadata.namespace ?? target.namespace;
        if (status === 422 || status === 400)
          refused.push(
            `${file}:${line}: ${serviceId(manifest)}: refused by the API server: ${serverMessage(error)}`,
          );
        else
          throw new ClusterFailed(
            `${serviceId(manifest)}: ${describeApiError(error, { verb: "patch", resource: `services.${target.group}`, namespace }, target)}`,
          );
      }
    }
    if (refused.length > 0) {
      for (const line of refused) console.error(line);
      console.error(`invalid: ${refused.length} refused by the API server at ${target.server}; ${nothing}`);
      // validate: invalid input (2); apply: the cluster refused (1).
      return options.write ? EXIT_FAILED : EXIT_USAGE;
    }

    if (!options.write) {
      for (const summary of checked.summaries) console.log(summary);
      console.log(
        `valid: ${checked.summaries.length} service${checked.summaries.length === 1 ? "" : "s"} in ${files.length} file${files.length === 1 ? "" : "s"} (the API server at ${target.server} accepts ${services.length === 1 ? "it" : "them"}: dry run)`,
      );
      return EXIT_OK;
    }

    for (const [index, { manifest }] of services.entries()) {
      const namespace = manifest.metadata.namespace ?? target.namespace;
      let outcome: ApplyOutcome;
      try {
        outcome = await serverSideApply(api, target.group, manifest, false);
      } catch (error) {
        const done = services.slice(0, index).map((s) => serviceId(s.manifest));
        const status = apiStatus(error);
        const why =
          status === 422 || status === 400
            ? `refused by the API server: ${serverMessage(error)}`
            : describeApiError(
                error,
                { verb: "patch", resource: `services.${target.group}`, namespace },
                target,
              );
        throw new ClusterFailed(
          `${serviceId(manifest)}: ${why}${done.length > 0 ? `; applied before it: ${done.join(", ")}` : ""}`,
        );
      }
      console.log(`${serviceId(manifest)}: ${outcome}`);
    }
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof ClusterFailed)) throw error;
    console.error(`${options.command}: ${error.message}`);
    return EXIT_FAILED;
  }
}
