import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  type LineCounter,
  type Node,
  type YAMLMap,
} from "yaml";

// Where a document path is in its YAML source, for file:line:col problems: one lookup for every
// loader (Services in serving/load.ts, Eventing resources in eventing/resources/load.ts).

/** 1-based, as editors count. */
export interface Position {
  line: number;
  column: number;
}

/** The source position of `path` (the key itself when `key` names a map entry). */
export function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): Position {
  let node: unknown = getIn(doc, path);
  if (key !== undefined && isMap(node)) node = keyOf(node, key) ?? node;
  // A null value (`name:` with nothing after it): the key, where the eye looks for it.
  const last = path.at(-1);
  if ((node === undefined || (isScalar(node) && node.value === null)) && typeof last === "string") {
    const parent = getIn(doc, path.slice(0, -1));
    if (isMap(parent)) node = keyOf(parent, last) ?? node;
  }
  // A missing field: the nearest parent that exists.
  for (let depth = path.length - 1; !isNode(node) && depth >= 0; depth--)
    node = getIn(doc, path.slice(0, depth));
  const range = (isNode(node) ? (node as Node).range : undefined) ?? doc.contents?.range ?? doc.range;
  const { line, col } = lines.linePos(range?.[0] ?? 0);
  return { line, column: col };
}

function keyOf(map: YAMLMap, key: string): Node | undefined {
  const pair = map.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
  return pair && isNode(pair.key) ? pair.key : undefined;
}

function getIn(doc: Document, path: readonly PropertyKey[]): unknown {
  if (path.some((part) => typeof part === "symbol")) return undefined;
  try {
    return doc.getIn(path as (string | number)[], true);
  } catch {
    return undefined; // a path through a scalar or an alias
  }
}
