// Counts the real results in a TAP stream from `tap --reporter=tap`: every leaf test point
// (assertion) passes or fails; a subtest or file that failed on its own (a crash, a timeout, a
// thrown error outside any assertion) counts as one more failure.
import { readFileSync } from "node:fs";

const lines = readFileSync(process.argv[2] ?? 0, "utf8").split("\n");
const POINT = /^(\s*)(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?/i;

let passed = 0;
let failed = 0;
let skipped = 0;
let previousIndent = -1;
// Failures seen so far under each open indent level.
const failuresBelow = new Map<number, number>();

for (const line of lines) {
  const match = POINT.exec(line);
  if (!match) continue;
  const indent = match[1].length;
  const ok = match[2] === "ok";
  const directive = match[4]?.toUpperCase();
  const isParent = previousIndent > indent;
  previousIndent = indent;
  let childFailures = 0;
  for (const [level, count] of failuresBelow) {
    if (level > indent) {
      childFailures += count;
      failuresBelow.delete(level);
    }
  }
  let ownFailures = 0;
  if (isParent) {
    if (!ok && childFailures === 0 && directive === undefined) ownFailures = 1;
  } else if (directive === "SKIP") skipped++;
  else if (ok || directive === "TODO") passed++;
  else ownFailures = 1;
  failed += ownFailures;
  failuresBelow.set(indent, (failuresBelow.get(indent) ?? 0) + childFailures + ownFailures);
}

const total = passed + failed;
if (total === 0) failed = 1; // no results at all is a failure, not a pass
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
