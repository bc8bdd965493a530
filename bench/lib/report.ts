// The tables of a run: one per client count with every figure, and the summary against nginx's one
// hop. The figures are computed by pure functions (tested in test/bench/); print* only lays them out.
import type { Measurement } from "./compare.ts";
import { ratio } from "./stats.ts";
import { fixed, printTable } from "./table.ts";

/** The reference every ratio is taken against: nginx one hop in front of the same app. */
export const NGINX = "nginx";
export const DIRECT = "direct";

/** A measurement with the figures derived from the others at the same client count. */
export interface Row extends Measurement {
  /** p99 minus the app's own (direct) at the same client count. */
  addedP99Ms: number;
  /** CPU/req of the first hop, and of every process on the path, divided by nginx's. */
  ownXNginx: number;
  pathXNginx: number;
}

export function withRatios(results: Measurement[]): Row[] {
  return results.map((r) => {
    const peer = (target: string) =>
      results.find((other) => other.target === target && other.connections === r.connections);
    const nginx = peer(NGINX);
    const direct = peer(DIRECT);
    const isDirect = r.target === DIRECT;
    return {
      ...r,
      addedP99Ms: direct && !isDirect ? r.p99Ms - direct.p99Ms : Number.NaN,
      ownXNginx: isDirect ? Number.NaN : ratio(r.ownCpu, nginx?.pathCpu),
      pathXNginx: isDirect ? Number.NaN : ratio(r.pathCpu, nginx?.pathCpu),
    };
  });
}

/** "router 71 + queue-proxy 62": RSS of each process on the path, MB. */
export function rssText(rssMb: Record<string, number>): string {
  return Object.entries(rssMb)
    .map(([label, mb]) => `${label} ${fixed(mb, 0)}`)
    .join(" + ");
}

/** One table per client count, every figure of every target. */
export function printDetails(rows: Row[]): void {
  for (const connections of new Set(rows.map((r) => r.connections))) {
    console.log(`\n${connections} connections`);
    printTable(
      [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p99 ms",
        "own µs/req",
        "path µs/req",
        "(range)",
        "own×nginx",
        "path×nginx",
        "errors",
        "RSS MB after load",
      ],
      rows
        .filter((r) => r.connections === connections)
        .map((r) => [
          r.target,
          Math.round(r.requestsPerSecond),
          fixed(r.p50Ms, 3),
          fixed(r.p99Ms, 3),
          fixed(r.addedP99Ms, 3),
          fixed(r.ownCpu, 1),
          fixed(r.pathCpu, 1),
          `${fixed(r.pathCpuRange[0], 0)}–${fixed(r.pathCpuRange[1], 0)}`,
          fixed(r.ownXNginx),
          fixed(r.pathXNginx),
          r.errors,
          rssText(r.rssMb),
        ]),
    );
  }
  console.log(
    "\nown µs/req: CPU (user + system) of the first process on the path over a round, divided by the\n" +
      "requests completed (the app's for direct, all nginx processes for nginx); path µs/req: every\n" +
      "sluice process on the path together (router + activator + queue-proxy), never the app's or the\n" +
      "load generator's. ×nginx: divided by nginx's one hop at the same client count. +p99: p99\n" +
      "minus the app's own. Figures are the median of the interleaved rounds; (range) the lowest and\n" +
      "highest round of path µs/req: if wide, the machine was busy.",
  );
}

/** The summary: per target, per client count, path CPU/req, its ratio to nginx, req/s and p99. */
export function printSummary(rows: Row[]): void {
  const counts = [...new Set(rows.map((r) => r.connections))];
  const targets = [...new Set(rows.map((r) => r.target))];
  const header = ["target"];
  for (const c of counts) header.push(`µs/req@${c}`, `×nginx@${c}`, `req/s@${c}`, `p99@${c}`, `+p99@${c}`);
  printTable(
    header,
    targets.map((target) => {
      const cells: (string | number)[] = [target];
      for (const c of counts) {
        const r = rows.find((row) => row.target === target && row.connections === c);
        cells.push(
          fixed(r?.pathCpu ?? Number.NaN, 1),
          fixed(r?.pathXNginx ?? Number.NaN),
          r ? Math.round(r.requestsPerSecond) : "-",
          fixed(r?.p99Ms ?? Number.NaN, 2),
          fixed(r?.addedP99Ms ?? Number.NaN, 2),
        );
      }
      return cells;
    }),
  );
}

/** raw ÷ node for one family at one client count: below 1, the raw path is cheaper or faster. */
export interface PathComparison {
  family: string;
  connections: number;
  cpu: number;
  requestsPerSecond: number;
  p99: number;
}

/** Every family measured on both data paths, compared at each client count. */
export function rawVsNode(rows: Row[]): PathComparison[] {
  const comparisons: PathComparison[] = [];
  for (const raw of rows.filter((r) => r.path === "raw")) {
    const node = rows.find(
      (r) => r.path === "node" && r.family === raw.family && r.connections === raw.connections,
    );
    if (!node) continue;
    comparisons.push({
      family: raw.family,
      connections: raw.connections,
      cpu: ratio(raw.pathCpu, node.pathCpu),
      requestsPerSecond: ratio(raw.requestsPerSecond, node.requestsPerSecond),
      p99: ratio(raw.p99Ms, node.p99Ms),
    });
  }
  return comparisons;
}

export function printRawVsNode(rows: Row[]): void {
  const comparisons = rawVsNode(rows);
  if (comparisons.length === 0) return;
  console.log("\n== raw ÷ node, same family and client count (below 1: raw cheaper / faster) ==");
  printTable(
    ["family", "conns", "path CPU/req", "req/s", "p99"],
    comparisons.map((c) => [c.family, c.connections, fixed(c.cpu), fixed(c.requestsPerSecond), fixed(c.p99)]),
  );
}

/**
 * What tracing costs the router: its own CPU per request with tracing off (the plain router row),
 * and sampling 1 % and 100 % (bench/router.ts), per data path and client count, from the same
 * interleaved rounds. Off's round-to-round range is the noise a difference must beat.
 */
export function printTracingCost(rows: Row[]): void {
  const traced = rows.filter((r) => r.family.startsWith("router-trace-"));
  if (traced.length === 0) return;
  console.log("\n== tracing: the router's own CPU µs/req, off and sampling (same rounds) ==");
  const keys = [...new Set(traced.map((r) => `${r.path}|${r.connections}`))];
  printTable(
    ["path", "conns", "off µs/req", "off (range)", "1 % µs/req", "1 % − off", "100 % µs/req", "100 % − off"],
    keys.map((key) => {
      const [path, connections] = key.split("|");
      const at = (family: string) =>
        rows.find((r) => r.family === family && r.path === path && r.connections === Number(connections));
      const off = at("router");
      const one = at("router-trace-1%");
      const all = at("router-trace-100%");
      const minus = (r: Row | undefined) =>
        r && off ? `${r.ownCpu >= off.ownCpu ? "+" : ""}${fixed(r.ownCpu - off.ownCpu, 1)}` : "-";
      return [
        path,
        connections,
        fixed(off?.ownCpu ?? Number.NaN, 1),
        off ? `${fixed(off.pathCpuRange[0], 0)}–${fixed(off.pathCpuRange[1], 0)}` : "-",
        fixed(one?.ownCpu ?? Number.NaN, 1),
        minus(one),
        fixed(all?.ownCpu ?? Number.NaN, 1),
        minus(all),
      ];
    }),
  );
}
