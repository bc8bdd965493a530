// `sluice apply`'s Eventing half: the files' Brokers, Triggers, sources and SinkBindings checked here
// against the Brokers that run, then sent file by file to the eventing component's PUT
// /v1/eventing (eventing/admin-api.ts), which merges them into what runs and applies the whole.
import { request } from "undici";
import type { AppliedResource } from "../eventing/admin-api.ts";
import type { EventingStatus } from "../eventing/status.ts";
import { answered, authHeaders, unreachable } from "./autoscaler-url.ts";
import { checkEventing } from "./eventing-files.ts";
import type { ServiceFile } from "./service-files.ts";

const REQUEST_TIMEOUT_MS = 30_000;

/** The operation failed (exit 1) or the input was refused (exit 2), with what to print. */
export class EventingApplyError extends Error {
  readonly invalid: boolean;
  constructor(message: string, invalid = false) {
    super(message);
    this.invalid = invalid;
  }
}

async function call(base: string, path: string, method: "GET" | "PUT" = "GET", body?: string) {
  try {
    const res = await request(`${base}${path}`, {
      method,
      body,
      headers: { accept: "application/json", "content-type": "application/yaml", ...authHeaders() },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (error) {
    throw new EventingApplyError(
      unreachable(base, error).replace("the autoscaler", "the eventing component"),
    );
  }
}

/** GET /v1/eventing, parsed. */
export async function eventingStatusAt(base: string): Promise<EventingStatus> {
  const answer = await call(base, "/v1/eventing");
  if (answer.status !== 200)
    throw new EventingApplyError(answered(`${base}/v1/eventing`, answer.status, answer.text));
  try {
    return JSON.parse(answer.text) as EventingStatus;
  } catch {
    throw new EventingApplyError(
      `${base}/v1/eventing did not answer JSON; is it sluice's eventing admin port?`,
    );
  }
}

/**
 * Checks `files` against the running Brokers (every problem, nothing sent on one), so the
 * caller can stop before sending anything; returns what `send` needs.
 */
export async function checkAgainstRunning(base: string, files: readonly ServiceFile[]): Promise<void> {
  const running = await eventingStatusAt(base);
  const known = new Set(running.brokers.map((b) => `${b.namespace}/${b.name}`));
  const checked = checkEventing(files, known);
  if (checked.problems.length > 0)
    throw new EventingApplyError(
      `${checked.problems.join("\n")}\ninvalid: ${checked.problems.length} problem(s) in the eventing resources; nothing was applied`,
      true,
    );
}

/** PUT each file in order; one line per resource ("Trigger default/orders: created"). */
export async function sendEventing(base: string, files: readonly ServiceFile[]): Promise<string[]> {
  const lines: string[] = [];
  for (const [index, { file, text }] of files.entries()) {
    const path = `/v1/eventing?file=${encodeURIComponent(file)}`;
    const answer = await call(base, path, "PUT", text);
    let parsed: { ok: boolean; problems: string[]; applied: AppliedResource[] } | undefined;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    if (answer.status === 400 && parsed) {
      const done = files.slice(0, index).map((f) => f.file);
      throw new EventingApplyError(
        `${parsed.problems.join("\n")}\nthe eventing component refused ${file}; ${done.length > 0 ? `applied before it: ${done.join(", ")}; ` : ""}not applied: ${files
          .slice(index)
          .map((f) => f.file)
          .join(", ")}`,
        true,
      );
    }
    if (answer.status !== 200 || !parsed)
      throw new EventingApplyError(`PUT ${answered(`${base}${path}`, answer.status, answer.text)}`);
    for (const resource of parsed.applied)
      lines.push(`${resource.kind} ${resource.namespace}/${resource.name}: ${resource.change}`);
  }
  return lines;
}
