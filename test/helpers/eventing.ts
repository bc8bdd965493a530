// The eventing process as the eventing tests start it: local platform, its resources from a
// manifest file, its store in the test's nats-server, ports the OS picks.
import { type Started, startProcess } from "./processes.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface EventingHandle extends Started {
  /** The ingress, `http://127.0.0.1:<port>`: a broker is at `${url}/<namespace>/<broker>`. */
  url: string;
  adminUrl: string;
}

/**
 * Starts eventing/main.ts and waits until it listens. One place for the start-up every eventing
 * test repeated; `env` is what a test sets on top, `timeoutMs` is startProcess's (its default when
 * not given).
 */
export async function startEventing(
  t: Teardown,
  {
    natsUrl,
    files,
    env = {},
    timeoutMs,
  }: { natsUrl: string; files: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<EventingHandle> {
  const started = await startProcess(
    t,
    "eventing/main.ts",
    { NATS_URL: natsUrl, EVENTING_PORT: "0", EVENTING_ADMIN_PORT: "0", EVENTING_FILES: files, ...env },
    { timeoutMs },
  );
  return {
    ...started,
    url: `http://127.0.0.1:${started.message.port}`,
    adminUrl: `http://127.0.0.1:${started.message.adminPort}`,
  };
}
