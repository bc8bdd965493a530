// Reading processes from /proc for fault tests: a process tree with command lines and environments,
// a process's listening TCP ports, and its resident memory.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { processTree } from "../../bench/lib/proc.ts";
import { BUNDLED_ENTRIES } from "../../common/prebuilt.ts";

export interface ProcessInfo {
  pid: number;
  cmdline: string[];
  environ: Record<string, string>;
}

function info(pid: number): ProcessInfo | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const environ: Record<string, string> = {};
    for (const pair of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const eq = pair.indexOf("=");
      if (eq > 0) environ[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { pid, cmdline, environ };
  } catch {
    return undefined;
  }
}

/** Processes under `root` (itself excluded) that match, nearest first. */
export function findProcesses(root: number, match: (p: ProcessInfo) => boolean): ProcessInfo[] {
  return processTree(root)
    .slice(1)
    .map(info)
    .filter((p): p is ProcessInfo => p !== undefined && match(p));
}

/** The TCP ports `pid` listens on (IPv4 and IPv6). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]);
    } catch {
      // closed while we looked
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue; // 0A = LISTEN
      if (inodes.has(fields[9])) ports.add(Number.parseInt(fields[1].split(":")[1], 16));
    }
  }
  return [...ports];
}

/** Resident memory (VmRSS) of `pid` in MB, or undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * Whether a command line runs the component `entry` (e.g. "router/main.ts"): from its source, or
 * from its prebuilt bundle (dist/router.cjs), which sluice up and the local platform prefer when fresh.
 */
export function runsEntry(cmdline: readonly string[], entry: string): boolean {
  const bundle = BUNDLED_ENTRIES[entry];
  return cmdline.some((arg) => arg.endsWith(entry) || (bundle !== undefined && arg.endsWith(`/${bundle}`)));
}
