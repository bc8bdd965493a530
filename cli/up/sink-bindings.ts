import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SINK_BINDINGS_FILE, type SinkBindingsFile } from "../../autoscaler/sink-bindings.ts";
import type { SourceOptions } from "../../eventing/resources/compile-sources.ts";
import type { SinkBindingManifest } from "../../eventing/resources/source-manifest.ts";

/**
 * Hands the files' SinkBindings to the autoscaler (autoscaler/sink-bindings.ts reads them when it
 * builds a revision's pod template). With none, an earlier run's file is removed: its bindings
 * must not outlive the files that had them.
 */
export function writeSinkBindings(
  stateDir: string,
  bindings: SinkBindingManifest[],
  options: SourceOptions,
): void {
  const path = join(stateDir, SINK_BINDINGS_FILE);
  if (bindings.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  mkdirSync(stateDir, { recursive: true });
  const file: SinkBindingsFile = { options, bindings };
  writeFileSync(path, `${JSON.stringify(file, null, 1)}\n`);
}
