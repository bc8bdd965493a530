// A restarted component must listen where its first run did: the router and activator are
// configured with the autoscaler's URL, the router with the activator's, and people with the
// router's. With port 0 the port is known only after the first start.

/**
 * The environment that pins each port the first run reported (`{port: 8090}`) through its
 * variable (`{port: "AUTOSCALER_PORT"}`). Ports it did not report, or reported as 0, stay as they were.
 */
export function pinnedPortsEnv(
  portVariables: Record<string, string>,
  reported: Record<string, number>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, variable] of Object.entries(portVariables)) {
    const port = reported[key];
    if (port !== undefined && Number.isInteger(port) && port > 0) env[variable] = String(port);
  }
  return env;
}
