/**
 * The app's port on 127.0.0.1 that a benchmark forwarder sends to, from UPSTREAM_PORT; a missing
 * or bad value stops the forwarder at start, naming it, instead of failing at its first request.
 */
export function upstreamPort(forwarder: string, value = process.env.UPSTREAM_PORT): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(
      `${forwarder}: UPSTREAM_PORT must be the app's port on 127.0.0.1, got ${JSON.stringify(value)}`,
    );
  return port;
}
