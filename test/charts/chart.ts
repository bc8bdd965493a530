// The chart tests' helm: the binary scripts/tools/build.sh caches (built on first use when Go is
// here), `helm template` parsed with the yaml package, and lookups into what it rendered.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT } from "../helpers/processes.ts";
import { skipUnlessTool } from "../helpers/required-tool.ts";

export const CHART = join(ROOT, "charts/sluice");
export const RELEASE = "rel";
export const NAMESPACE = "sluice-system";
export const FULLNAME = `${RELEASE}-sluice`;

const CACHE = process.env.SLUICE_TOOLS_CACHE ?? join(homedir(), ".cache/sluice");
const HELM = join(CACHE, "bin/helm");

let helmFound: boolean | undefined;

/**
 * Whether the cached helm is there; if not and Go is, builds it once (scripts/tools/build.sh helm,
 * under a lock so parallel test files build it once: ~3 min cold, seconds with Go's cache warm),
 * unless SLUICE_KUBE_NO_BUILD is set.
 */
function haveHelm(): boolean {
  if (helmFound !== undefined) return helmFound;
  // SLUICE_KUBE_NO_BUILD: .ci/run's build already failed; do not try again per test file.
  if (!existsSync(HELM) && !process.env.SLUICE_KUBE_NO_BUILD && spawnSync("go", ["version"]).status === 0) {
    mkdirSync(CACHE, { recursive: true });
    spawnSync("flock", [join(CACHE, ".helm-build.lock"), join(ROOT, "scripts/tools/build.sh"), "helm"], {
      stdio: "ignore",
      timeout: 600_000,
    });
  }
  helmFound = spawnSync(HELM, ["version", "--short"]).status === 0;
  return helmFound;
}

/** The `skip` option for a test needing helm (a failure instead under CI=true). */
export function helmSkip(): string | false {
  return skipUnlessTool("helm", haveHelm(), "scripts/tools/build.sh helm (needs Go)");
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(HELM, args, { encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A rendered Kubernetes object, loosely typed: tests walk into it by path. */
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML of every kind
export type Manifest = Record<string, any>;

/** `helm template` with `--set` pairs; throws with helm's message when it fails. */
export function render(
  set: Record<string, string | number | boolean> = {},
  extra: string[] = [],
): Manifest[] {
  const args = ["template", RELEASE, CHART, "--namespace", NAMESPACE, ...extra];
  for (const [key, value] of Object.entries(set)) args.push("--set", `${key}=${value}`);
  const result = helm(args);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0)
        throw new Error(`helm template rendered invalid YAML: ${doc.errors[0].message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}

export function ofKind(docs: Manifest[], kind: string): Manifest[] {
  return docs.filter((doc) => doc.kind === kind);
}

export function named(docs: Manifest[], kind: string, name: string): Manifest {
  const found = docs.find((doc) => doc.kind === kind && doc.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} rendered`);
  return found;
}

/** A component's Deployment, e.g. deployment(docs, "router"). */
export function deployment(docs: Manifest[], component: string): Manifest {
  return named(docs, "Deployment", `${FULLNAME}-${component}`);
}

/**
 * The environment a Deployment's container gets, as the kubelet would build it: plain values,
 * secretKeyRef from the rendered Secret, fieldRef from the given pod fields, then $(VAR)
 * references expanded from the variables before.
 */
export function containerEnv(
  docs: Manifest[],
  container: Manifest,
  fields: Record<string, string> = {
    "metadata.name": "pod-1",
    "metadata.namespace": NAMESPACE,
    "status.podIP": "10.1.2.3",
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    let value: string;
    if (entry.value !== undefined) value = String(entry.value);
    else if (entry.valueFrom?.secretKeyRef) {
      const { name, key } = entry.valueFrom.secretKeyRef;
      const data = named(docs, "Secret", name).data?.[key];
      if (data === undefined) throw new Error(`${entry.name}: Secret ${name} has no key ${key}`);
      value = Buffer.from(data, "base64").toString("utf8");
    } else if (entry.valueFrom?.fieldRef) {
      value = fields[entry.valueFrom.fieldRef.fieldPath];
      if (value === undefined)
        throw new Error(`${entry.name}: no value for ${entry.valueFrom.fieldRef.fieldPath}`);
    } else throw new Error(`${entry.name}: a source this test does not resolve`);
    env[entry.name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name) => env[name] ?? ref);
  }
  return env;
}
