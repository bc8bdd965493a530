import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import autocannon from "autocannon";
import { adopt } from "./children.ts";

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export type LoadTool = "wrk" | "autocannon";

const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((path) => existsSync(path));

/**
 * wrk when installed: it measures latency in microseconds and costs little CPU on a 2-core box.
 * autocannon (a devDependency) otherwise, whose latencies are whole milliseconds.
 */
export function pickLoadTool(requested: string | undefined): LoadTool {
  if (requested === "autocannon") return "autocannon";
  if (requested !== undefined && requested !== "wrk")
    throw new Error(`--load ${requested}: expected wrk or autocannon`);
  if (requested === "wrk" && !WRK) throw new Error("--load wrk: wrk is not installed (apt-get install wrk)");
  return WRK ? "wrk" : "autocannon";
}

/** Parses wrk's "123.45us", "1.20ms", "2.00s" into milliseconds. */
export function wrkDurationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`unexpected wrk latency ${text}`);
  const value = Number(match[1]);
  return match[2] === "us"
    ? value / 1000
    : match[2] === "ms"
      ? value
      : match[2] === "s"
        ? value * 1000
        : value * 60_000;
}

export function parseWrk(output: string): LoadResult {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)?.[1];
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  if (!p50 || !p99 || Number.isNaN(requests)) throw new Error(`cannot read wrk's output:\n${output}`);
  const socketErrors = errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests,
    requestsPerSecond: rps,
    p50Ms: wrkDurationMs(p50),
    p99Ms: wrkDurationMs(p99),
    errors: socketErrors + non2xx,
  };
}

/** Runs a closed-loop load against a loopback URL for `seconds` with `connections` clients. */
export function runLoad(
  tool: LoadTool,
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load only goes to 127.0.0.1, not ${url}`);
  if (tool === "wrk") {
    return new Promise((resolve, reject) => {
      const wrk = execFile(
        WRK as string,
        [
          "-t1",
          `-c${connections}`,
          `-d${Math.max(1, Math.round(seconds))}s`, // wrk takes whole seconds
          "--latency",
          ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
          url,
        ],
        { timeout: (seconds + 30) * 1000 },
        (error, stdout) => (error ? reject(error) : resolve(parseWrk(stdout))),
      );
      adopt(wrk);
    });
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, headers }, (error, result) => {
      clearTimeout(deadline);
      if (error) return reject(error);
      resolve({
        requests: result.requests.total,
        requestsPerSecond: result.requests.total / (result.duration || seconds),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.errors + result.non2xx + result.timeouts,
      });
    });
    // autocannon stops itself at `seconds`; this only bounds a run that hangs.
    const deadline = setTimeout(() => instance.stop(), (seconds + 30) * 1000);
  });
}
