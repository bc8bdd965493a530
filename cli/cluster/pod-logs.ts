// `sluice logs` against a cluster: the serving container's log (or --container's) of every pod of
// a service, each line prefixed with its pod as locally. Without --follow the lines of all pods
// come merged oldest first (by the API server's timestamps); with it, every pod is followed, and
// pods that start later are picked up (the pod list is read again every 2 s) until Ctrl-C.
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { apiStatus } from "../../platform/kubernetes/api-status.ts";
import { EXIT_FAILED, EXIT_OK } from "../command.ts";
import { describeApiError, serverMessage } from "./api-error.ts";
import { podLogStream } from "./pod-log-stream.ts";
import { containerOf, listServicePods, PodsFailed, type PodsWanted, unknownTarget } from "./service-pods.ts";
import type { ClusterTarget } from "./target.ts";

const POLL_MS = 2000;
/** Reading what pods wrote so far (without --follow) takes at most this long. */
const READ_TIMEOUT_MS = 60_000;

export interface ClusterLogsOptions extends PodsWanted {
  /** The container to read (default: the serving one). */
  container?: string;
  follow: boolean;
  /** Only the last N lines already written, per pod. */
  tail?: number;
}

/** Writes to the output; false once it is gone (e.g. `| head` ended). */
export type Write = (text: string) => Promise<boolean>;

interface PodRef {
  namespace: string;
  name: string;
  container: string;
  /** What prefixes its lines: the pod, or namespace/pod with -A. */
  label: string;
}

/** A line as the API server gives it with timestamps=true: "2026-12-01T17:35:51.123456789Z text". */
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z (.*)$/;

function sortKey(line: string): { key: string; text: string } {
  const match = STAMPED.exec(line);
  if (!match) return { key: "", text: line };
  return { key: `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}`, text: match[3] };
}

async function readAll(stream: Readable): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk;
  return text;
}

function refOf(target: ClusterTarget, pod: V1Pod, container: string): PodRef {
  const namespace = pod.metadata?.namespace ?? target.namespace;
  const name = pod.metadata?.name ?? "?";
  return { namespace, name, container, label: target.allNamespaces ? `${namespace}/${name}` : name };
}

/** A container that has not started has no log yet: the API server says so with a 400. */
function notStarted(error: unknown): boolean {
  return apiStatus(error) === 400;
}

function logFailure(target: ClusterTarget, error: unknown, ref: PodRef): string {
  return describeApiError(error, { verb: "get", resource: "pods/log", namespace: ref.namespace }, target);
}

/** The pods to read, with their container; fails when --container names one no pod has. */
function podRefs(target: ClusterTarget, pods: readonly V1Pod[], container: string | undefined): PodRef[] {
  const refs: PodRef[] = [];
  for (const pod of pods) {
    const name = containerOf(pod, container);
    if (name !== undefined) refs.push(refOf(target, pod, name));
  }
  if (refs.length === 0 && pods.length > 0 && container !== undefined) {
    const names = [...new Set(pods.flatMap((pod) => pod.spec?.containers.map((c) => c.name) ?? []))];
    throw new PodsFailed(`no container ${container} in the pods (they have: ${names.join(", ")})`);
  }
  return refs;
}

async function printOnce(
  target: ClusterTarget,
  refs: readonly PodRef[],
  options: ClusterLogsOptions,
  write: Write,
  stop: AbortSignal,
): Promise<number> {
  const signal = AbortSignal.any([stop, AbortSignal.timeout(READ_TIMEOUT_MS)]);
  const read = await Promise.all(
    refs.map(async (ref, index) => {
      try {
        const stream = await podLogStream(
          target.kubeConfig,
          { namespace: ref.namespace, pod: ref.name, container: ref.container },
          { timestamps: true, ...(options.tail !== undefined ? { tailLines: options.tail } : {}) },
          signal,
        );
        const text = await readAll(stream);
        return text
          .split("\n")
          .filter((line, i, all) => line !== "" || i < all.length - 1)
          .map((line) => ({ ...sortKey(line), ref, index }));
      } catch (error) {
        if (stop.aborted) return []; // Ctrl-C
        if (notStarted(error)) {
          console.error(`sluice logs: [${ref.label}] no log yet: ${serverMessage(error)}`);
          return [];
        }
        throw new PodsFailed(logFailure(target, error, ref));
      }
    }),
  );
  const lines = read.flat().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  for (const line of lines) if (!(await write(`[${line.ref.label}] ${line.text}\n`))) break;
  return EXIT_OK;
}

async function follow(
  target: ClusterTarget,
  first: readonly PodRef[],
  options: ClusterLogsOptions,
  write: Write,
  signal: AbortSignal,
): Promise<number> {
  const stop = new AbortController();
  const onStop = () => stop.abort();
  signal.addEventListener("abort", onStop, { once: true });
  /** Pods being followed, and those whose log ended (not followed again). */
  const following = new Set<string>();
  const ended = new Set<string>();
  let failure: string | undefined;
  const fail = (message: string) => {
    failure ??= message;
    stop.abort();
  };

  const start = async (ref: PodRef, tail: number | undefined) => {
    const key = `${ref.namespace}/${ref.name}/${ref.container}`;
    if (following.has(key) || ended.has(key)) return;
    following.add(key);
    let stream: Readable;
    try {
      stream = await podLogStream(
        target.kubeConfig,
        { namespace: ref.namespace, pod: ref.name, container: ref.container },
        { follow: true, ...(tail !== undefined ? { tailLines: tail } : {}) },
        stop.signal,
      );
    } catch (error) {
      following.delete(key); // not started yet: tried again on the next look at the pods
      if (stop.signal.aborted || notStarted(error)) return;
      if (apiStatus(error) === 404) return; // gone meanwhile
      fail(logFailure(target, error, ref));
      return;
    }
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!(await write(`[${ref.label}] ${line}\n`))) {
          stop.abort();
          break;
        }
      }
    } catch {
      // Stopped, or the connection dropped: not read again (that would repeat its lines).
    }
    following.delete(key);
    ended.add(key);
  };

  try {
    for (const ref of first) void start(ref, options.tail);
    while (!stop.signal.aborted) {
      await sleep(POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) break;
      let pods: V1Pod[];
      try {
        pods = await listServicePods(target, options);
      } catch (error) {
        fail(`lost the API server while following: ${(error as Error).message}`);
        break;
      }
      // Pods that appear later are read from their beginning.
      try {
        for (const ref of podRefs(target, pods, options.container)) void start(ref, undefined);
      } catch (error) {
        fail((error as Error).message);
      }
    }
  } finally {
    signal.removeEventListener("abort", onStop);
  }
  if (failure !== undefined && !signal.aborted) {
    console.error(`sluice logs: ${failure}`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

/** Runs `sluice logs` against the cluster; answers the exit code. */
export async function clusterLogs(
  target: ClusterTarget,
  options: ClusterLogsOptions,
  write: Write,
  signal: AbortSignal,
): Promise<number> {
  try {
    const pods = await listServicePods(target, options);
    if (pods.length === 0) {
      const unknown = await unknownTarget(target, options);
      if (unknown !== undefined) {
        console.error(`sluice logs: ${unknown}`);
        return EXIT_FAILED;
      }
      const what = options.revision ?? options.service ?? "any sluice service";
      const where = target.allNamespaces ? "any namespace" : `namespace ${target.namespace}`;
      console.error(
        `sluice logs: no pods of ${what} in ${where} (scaled to zero?)${options.follow ? "; waiting for some" : ""}`,
      );
    }
    const refs = podRefs(target, pods, options.container);
    return options.follow
      ? await follow(target, refs, options, write, signal)
      : await printOnce(target, refs, options, write, signal);
  } catch (error) {
    if (!(error instanceof PodsFailed)) throw error;
    console.error(`sluice logs: ${error.message}`);
    return EXIT_FAILED;
  }
}
