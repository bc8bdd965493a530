import type { EnvReader } from "../../env.ts";
import { loadNodeParser, type NodeParserBinding } from "./node-parser.ts";

/** Which HTTP/1.1 data path a component runs: raw sockets framed by llhttp, or node:http + undici. */
export type DataPathName = "raw" | "node";

/** SLUICE_DATA_PATH, read by each component's config module (default raw). */
export function readDataPath(env: EnvReader): DataPathName {
  return env.oneOf("SLUICE_DATA_PATH", ["raw", "node"] as const, "raw");
}

export type DataPath =
  | { name: "raw"; parser: NodeParserBinding }
  | { name: "node" /** Why raw was asked for and not used. */; fallback?: string };

/**
 * The path to run: raw only when asked for and node's parser is usable here; otherwise node:http,
 * with the reason for the log. `load` stands in for node's internals in tests.
 */
export function chooseDataPath(wanted: DataPathName, load?: () => unknown): DataPath {
  if (wanted === "node") return { name: "node" };
  const parser = loadNodeParser(load);
  if ("problem" in parser) return { name: "node", fallback: parser.problem };
  return { name: "raw", parser };
}
