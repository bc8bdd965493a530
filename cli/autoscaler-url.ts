// The --autoscaler option of the commands that talk to a running sluice, and what every request
// to it carries.
import { bearerHeaders, TOKEN_ENV, tokenFromEnv } from "../common/api-token.ts";

export const DEFAULT_AUTOSCALER = "http://127.0.0.1:8090";

/** The base URL without a trailing slash, or undefined when `text` is not an http(s) URL. */
export function autoscalerBase(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    return url.href.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

/** "cannot reach the autoscaler at URL (ECONNREFUSED); is sluice running?" */
export function unreachable(base: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = (error as { code?: string }).code ?? cause?.code ?? cause?.message ?? (error as Error).message;
  return `cannot reach the autoscaler at ${base} (${why}); is sluice running? (sluice up, or --autoscaler URL)`;
}

/** Headers for every request to the autoscaler: its bearer token when SLUICE_TOKEN is set. */
export function authHeaders(env: Record<string, string | undefined> = process.env): Record<string, string> {
  return bearerHeaders(tokenFromEnv(env));
}

/** "URL answered 401: …", plus what to do about a missing or wrong token. */
export function answered(url: string, status: number, text: string): string {
  const hint =
    status === 401
      ? tokenFromEnv()
        ? ` (${TOKEN_ENV} is set but the autoscaler does not accept it)`
        : ` (set ${TOKEN_ENV} to the autoscaler's token)`
      : "";
  return `${url} answered ${status}: ${text.trim()}${hint}`;
}
