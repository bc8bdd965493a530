/**
 * The HTTP status of a failed API call: client-node's ApiException carries it as `code`, the
 * informer's own StatusError too, and other HTTP errors as `statusCode`.
 */
export function apiStatus(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown } | null | undefined;
  const code = e?.code ?? e?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** Whether a failed API call was answered with `status` (404 Not Found, 409 Conflict, 410 Gone…). */
export function isStatus(error: unknown, status: number): boolean {
  return apiStatus(error) === status;
}
