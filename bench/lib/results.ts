// Raw results as JSON under bench/results/ (gitignored), one file per benchmark run.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function saveResults(name: string, data: unknown): string {
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}-${new Date().toISOString().replaceAll(":", "-")}.json`;
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
