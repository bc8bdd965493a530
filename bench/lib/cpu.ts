// CPU accounting, pure: /proc/<pid>/stat text to CPU time, and CPU per request from two snapshots
// of several processes. proc.ts reads the files; this decides what the figures mean.

/** utime + stime, in clock ticks, from the text of /proc/<pid>/stat. */
export function statCpuTicks(stat: string): number {
  // Fields after the command name (which may contain spaces and parentheses) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5): utime, stime
  if (!Number.isFinite(ticks))
    throw new Error(`cannot read CPU time from ${JSON.stringify(stat.slice(0, 80))}`);
  return ticks;
}

export function ticksToMicros(ticks: number, ticksPerSecond: number): number {
  return (ticks * 1_000_000) / ticksPerSecond;
}

/** CPU time so far of each labelled process (µs). */
export type CpuSnapshot = Record<string, number>;

/**
 * CPU µs per request of each labelled process between two snapshots, for `requests` requests
 * completed in between; NaN for a label missing from either snapshot, and for every label when
 * no request completed.
 */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuSnapshot {
  return Object.fromEntries(
    Object.keys(after).map((label) => {
      const used = after[label] - (before[label] ?? Number.NaN);
      return [label, requests > 0 ? used / requests : Number.NaN];
    }),
  );
}

/** The sum over processes (a path's cost: every sluice process a request crosses). */
export function sumCpu(perProcess: CpuSnapshot): number {
  return Object.values(perProcess).reduce((sum, value) => sum + value, 0);
}
