import { chooseDataPath } from "../../common/http/raw/data-path.ts";
import type { NodeParserBinding } from "../../common/http/raw/node-parser.ts";

/**
 * Node's llhttp binding as the raw path uses it. Where the raw path is unavailable this throws,
 * failing the test (or file) that asks, instead of letting it test the node:http fallback under
 * the raw path's name.
 */
export function rawParser(): NodeParserBinding {
  const dataPath = chooseDataPath("raw");
  if (dataPath.name !== "raw") throw new Error(`no raw path here: ${dataPath.fallback}`);
  return dataPath.parser;
}
