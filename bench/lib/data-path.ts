// The two HTTP/1.1 data paths the components can run: node:http + undici ("node") and raw sockets
// framed by llhttp ("raw"). Each component reads SLUICE_DATA_PATH at start-up; the benchmark
// starts one set of processes per path and labels every row with its path.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const DATA_PATHS = ["node", "raw"] as const;
export type DataPath = (typeof DATA_PATHS)[number];

export const DATA_PATH_ENV = "SLUICE_DATA_PATH";

export function isDataPath(value: string): value is DataPath {
  return (DATA_PATHS as readonly string[]).includes(value);
}

/** The environment that selects `path` in a component. */
export function dataPathEnv(path: DataPath): Record<string, string> {
  return { [DATA_PATH_ENV]: path };
}

const root = fileURLToPath(new URL("../../", import.meta.url));
export const COMPONENTS = ["router", "activator", "queue-proxy"] as const;
/** Reading the variable in a component's own files: its name, or the shared reader's. */
const READS = /SLUICE_DATA_PATH|readDataPath\(/;

function mentions(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some((entry) =>
    entry.isDirectory()
      ? mentions(join(dir, entry.name))
      : entry.name.endsWith(".ts") && READS.test(readFileSync(join(dir, entry.name), "utf8")),
  );
}

/**
 * The components whose source does not read SLUICE_DATA_PATH: for them the variable is ignored and
 * their "[raw]" rows measure the node:http path. The report says so instead of implying a
 * comparison that did not happen.
 */
export function componentsIgnoringDataPath(): string[] {
  return COMPONENTS.filter((component) => {
    try {
      return !mentions(join(root, component));
    } catch {
      return true;
    }
  });
}
