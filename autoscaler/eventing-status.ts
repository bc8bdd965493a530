import { request } from "undici";
import type { EventingSnapshot } from "../common/status.ts";

// The eventing component's status, for GET /v1/status and the status page: its admin API's
// GET /v1/eventing (Brokers' addresses, Triggers' and sources' counts), read when a snapshot is
// built. Bounded: a slow or absent eventing costs the status at most TIMEOUT_MS and shows as an
// `error` naming the URL, never as a failed /v1/status. Reads that overlap share one request (a
// few status pages polling once a second each make one request at a time to eventing).

const TIMEOUT_MS = 2000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface EventingStatusOptions {
  /** SLUICE_EVENTING_ADMIN_URL: http://host:port of eventing's admin port. */
  adminUrl: string;
  /** SLUICE_TOKEN: eventing's /v1/eventing takes the autoscaler's token. */
  token: string | undefined;
  timeoutMs?: number;
}

export class EventingStatusReader {
  readonly #options: EventingStatusOptions;
  #inFlight: Promise<EventingSnapshot> | undefined;

  constructor(options: EventingStatusOptions) {
    this.#options = options;
  }

  read(): Promise<EventingSnapshot> {
    this.#inFlight ??= this.#read().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #read(): Promise<EventingSnapshot> {
    const { adminUrl, token, timeoutMs = TIMEOUT_MS } = this.#options;
    const url = `${adminUrl}/v1/eventing`;
    const failed = (why: string): EventingSnapshot => ({
      adminUrl,
      error: `eventing at ${url}: ${why}`,
      brokers: [],
      triggers: [],
      sources: [],
    });
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      const length = Number(res.headers["content-length"] ?? 0);
      if (length > MAX_BODY_BYTES) {
        await res.body.dump();
        return failed(`answer larger than ${MAX_BODY_BYTES} bytes`);
      }
      text = await res.body.text();
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e.name === "TimeoutError" || e.name === "AbortError")
        return failed(`no answer within ${timeoutMs} ms`);
      return failed(`unreachable (${e.code ?? e.message})`);
    }
    if (status !== 200) return failed(`answered ${status}: ${text.slice(0, 200).trim()}`);
    return parseEventingStatus(adminUrl, text) ?? failed("the answer is not eventing's status JSON");
  }
}

/** GET /v1/eventing's body as a snapshot, or undefined when it is not one. */
export function parseEventingStatus(adminUrl: string, text: string): EventingSnapshot | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { brokers, triggers, sources } = (body ?? {}) as Record<string, unknown>;
  if (!Array.isArray(brokers) || !Array.isArray(triggers)) return undefined;
  return {
    adminUrl,
    brokers: brokers as EventingSnapshot["brokers"],
    triggers: triggers as EventingSnapshot["triggers"],
    sources: Array.isArray(sources) ? (sources as EventingSnapshot["sources"]) : [],
  };
}
