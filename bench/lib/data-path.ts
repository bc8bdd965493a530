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
const COMPONENT_DIRS = ["common", "router", "activator", "queue-proxy"];
/** The name as a string literal in code: a comment that mentions it does not count. */
const QUOTED = new RegExp(`["'\`]${DATA_PATH_ENV}["'\`]`);

/**
 * Whether any component's source reads SLUICE_DATA_PATH (names it in a string literal). Until the raw path lands the variable is
 * ignored and "raw" rows measure the node:http path: the report says so instead of implying a
 * comparison that did not happen.
 */
export function dataPathIsRead(): boolean {
  const reads = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((entry) =>
      entry.isDirectory()
        ? reads(join(dir, entry.name))
        : entry.name.endsWith(".ts") && QUOTED.test(readFileSync(join(dir, entry.name), "utf8")),
    );
  return COMPONENT_DIRS.some((dir) => {
    try {
      return reads(join(root, dir));
    } catch {
      return false;
    }
  });
}
