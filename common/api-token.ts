/**
 * The autoscaler API's bearer token (SLUICE_TOKEN). Every client of the API — the CLI, the router's
 * and activator's state watch, the activator's stats pushes — reads it from its environment and
 * sends it; the autoscaler requires it when set (autoscaler/api-guard.ts).
 */
export const TOKEN_ENV = "SLUICE_TOKEN";

/** The token from the environment, or undefined when it is unset or blank. */
export function tokenFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const token = env[TOKEN_ENV]?.trim();
  return token ? token : undefined;
}

/** `{ authorization: "Bearer …" }` when there is a token, else no header at all. */
export function bearerHeaders(token: string | undefined = tokenFromEnv()): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
