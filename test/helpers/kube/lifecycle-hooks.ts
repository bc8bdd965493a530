// Container lifecycle hooks as the kubelet runs them on deletion: a container's preStop hook
// (httpGet, exec or sleep) runs before its SIGTERM, and the time it takes comes out of the
// pod's grace period. A hook that fails or outlasts the period is given up on, and the container
// is stopped anyway, as the kubelet does (it only records an event).
import type { ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type * as k8s from "@kubernetes/client-node";

export interface HookContext {
  /** The pod's IP: an httpGet hook's host unless it names one. */
  podIP: string;
  container: k8s.V1Container;
  /** Starts `command` inside the container (its namespace, mounts and environment). */
  exec(command: string[]): { child: ChildProcess; exited: Promise<void> };
}

/** Resolves a port given by number or by the name of one of the container's ports. */
export function containerPort(
  container: k8s.V1Container,
  port: number | string | undefined,
): number | undefined {
  if (typeof port === "number") return port;
  if (port === undefined) return undefined;
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  return named ?? (/^\d+$/.test(port) ? Number(port) : undefined);
}

function httpGet(action: k8s.V1HTTPGetAction, context: HookContext, timeoutMs: number): Promise<void> {
  const port = containerPort(context.container, action.port as number | string);
  const request = action.scheme === "HTTPS" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: action.host || context.podIP,
        port,
        path: action.path ?? "/",
        headers: {
          "user-agent": "kube-lifecycle/1.37",
          ...Object.fromEntries((action.httpHeaders ?? []).map((h) => [h.name, h.value])),
        },
        timeout: timeoutMs,
        // The kubelet does not verify a container's certificate.
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        res.once("end", () =>
          (res.statusCode ?? 0) < 400 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.once("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

async function exec(action: k8s.V1ExecAction, context: HookContext, timeoutMs: number): Promise<void> {
  const proc = context.exec(action.command ?? []);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
  await proc.exited;
  clearTimeout(timer);
  if (proc.child.exitCode !== 0) throw new Error(`exit ${proc.child.exitCode ?? proc.child.signalCode}`);
}

/**
 * Runs the container's preStop hook, if it has one, for at most `timeoutMs`; resolves with why it
 * failed, or undefined when it succeeded or there was none.
 */
export async function runPreStop(context: HookContext, timeoutMs: number): Promise<string | undefined> {
  const hook = context.container.lifecycle?.preStop;
  if (!hook || timeoutMs <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`did not finish within the grace period (${timeoutMs} ms)`)),
      timeoutMs,
    );
  });
  try {
    const running = hook.httpGet
      ? httpGet(hook.httpGet, context, timeoutMs)
      : hook.exec
        ? exec(hook.exec, context, timeoutMs)
        : hook.sleep
          ? new Promise<void>((resolve) =>
              setTimeout(resolve, hook.sleep?.seconds ? hook.sleep.seconds * 1000 : 0),
            )
          : Promise.resolve();
    running.catch(() => {}); // reported through the race below, or too late to matter
    await Promise.race([running, deadline]);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    clearTimeout(timer);
  }
}
