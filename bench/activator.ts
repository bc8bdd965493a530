// npm run bench -- activator: cold starts through the activator (minus the app's own start), a
// 1,000-request cold burst, memory with 10,000 requests waiting, and CPU per warm request against
// the bare forwarder.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { forkAndWait } from "./lib/children.ts";
import { benchService, startDataPlane } from "./lib/data-plane.ts";
import { runLoad } from "./lib/load.ts";
import type { BenchOptions } from "./lib/options.ts";
import { cpuMicros, memoryMb } from "./lib/proc.ts";
import { saveResults } from "./lib/results.ts";
import { percentile } from "./lib/stats.ts";
import { fixed } from "./lib/table.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const COLD_STARTS = 10;

/** How long the app alone takes from spawn to its first answer. */
async function appStartMs(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [here("apps/hello.ts")], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "ignore", "ignore", "ipc"],
  });
  const port = await new Promise<number>((resolve) =>
    child.on("message", (m: { port: number }) => resolve(m.port)),
  );
  const res = await request(`http://127.0.0.1:${port}/`);
  await res.body.dump();
  const elapsed = performance.now() - started;
  child.kill("SIGKILL");
  return elapsed;
}

export async function benchActivator(options: BenchOptions): Promise<void> {
  const plane = await startDataPlane();
  const dispatcher = new Agent({ connections: 10_500 });
  const call = (revision: string) =>
    request(`${plane.activatorUrl}/`, {
      dispatcher,
      headers: { "sluice-revision": `default/${revision}` },
    }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });
  try {
    // Cold starts: one revision per sample, each at zero until its first request.
    const cold = Array.from({ length: COLD_STARTS }, (_, i) =>
      benchService(`cold${i}`, { "autoscaling.knative.dev/initial-scale": "0" }),
    );
    await plane.apply(cold.join("---\n"));
    const appStarts: number[] = [];
    const coldStarts: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      appStarts.push(await appStartMs());
      const start = performance.now();
      const status = await call(`cold${i}-00001`);
      if (status !== 200) throw new Error(`cold start ${i}: ${status}`);
      coldStarts.push(performance.now() - start);
    }
    const overhead = coldStarts.map((ms, i) => ms - appStarts[i]);
    console.log(
      `cold start through the activator: p50 ${fixed(percentile(coldStarts, 0.5), 0)} ms, p99 ${fixed(percentile(coldStarts, 0.99), 0)} ms; ` +
        `app alone p50 ${fixed(percentile(appStarts, 0.5), 0)} ms; added p50 ${fixed(percentile(overhead, 0.5), 0)} ms, p99 ${fixed(percentile(overhead, 0.99), 0)} ms (${COLD_STARTS} cold starts; includes the queue-proxy's own start)`,
    );

    // A 1,000-request burst at zero.
    await plane.apply(
      benchService("burst", {
        "autoscaling.knative.dev/initial-scale": "0",
        "autoscaling.knative.dev/max-scale": "3",
      }),
    );
    const burstStart = performance.now();
    const burst = await Promise.all(Array.from({ length: 1000 }, () => call("burst-00001").catch(() => 0)));
    const errors = burst.filter((status) => status !== 200).length;
    console.log(
      `cold burst: 1,000 requests at zero, ${errors} errors, all answered in ${fixed(performance.now() - burstStart, 0)} ms`,
    );

    // 10,000 waiting for a revision that does not start within the test.
    await plane.apply(
      benchService(
        "never",
        { "autoscaling.knative.dev/initial-scale": "0", "autoscaling.knative.dev/max-scale": "1" },
        [process.execPath, "-e", "setInterval(() => {}, 1000)"],
      ),
    );
    const idle = memoryMb(plane.activator.pid);
    const waiting = Array.from({ length: 10_000 }, () => call("never-00001").catch(() => 0));
    let depth = 0;
    for (let i = 0; i < 600 && depth < 10_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const metrics = await (
        await request(`http://127.0.0.1:${plane.activator.message.adminPort}/metrics`)
      ).body.text();
      depth = Number(
        /sluice_activator_queued_requests\{[^}]*revision="never-00001"\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
    }
    const loaded = memoryMb(plane.activator.pid);
    console.log(
      `10,000 waiting (${depth} in the queue): activator RSS ${fixed(idle.rss, 0)} → ${fixed(loaded.rss, 0)} MB, private ${fixed(idle.private, 0)} → ${fixed(loaded.private, 0)} MB`,
    );
    dispatcher.destroy();
    await Promise.allSettled(waiting);

    // Warm traffic: activator vs the bare forwarder in front of the same pod.
    await plane.apply(benchService("warm", { "autoscaling.knative.dev/min-scale": "1" }));
    let pod: string | undefined;
    for (let i = 0; i < 200 && !pod; i++) {
      const state = (await (await request(`${plane.autoscalerUrl}/v1/state`)).body.json()) as {
        revisions: Record<string, { endpoints: { url: string }[] }>;
      };
      pod = state.revisions["default/warm-00001"]?.endpoints[0]?.url;
      if (!pod) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!pod) throw new Error("warm revision never became ready");
    const bare = await forkAndWait(here("apps/bare-forwarder.ts"), {
      PORT: "0",
      UPSTREAM_PORT: new URL(pod).port,
    });
    const rows: [string, number, number][] = [];
    for (const [name, pid, url, headers] of [
      [
        "activator",
        plane.activator.pid,
        `${plane.activatorUrl}/`,
        { "sluice-revision": "default/warm-00001" },
      ],
      ["bare-forwarder", bare.pid, `http://127.0.0.1:${bare.message.port}/`, {}],
    ] as const) {
      await runLoad(options.load, url, 8, options.warmupSeconds, headers);
      const before = cpuMicros(pid);
      const result = await runLoad(options.load, url, 8, options.seconds, headers);
      rows.push([name, result.requestsPerSecond, (cpuMicros(pid) - before) / result.requests]);
    }
    await bare.stop();
    for (const [name, rps, cpu] of rows)
      console.log(
        `warm, 8 connections: ${name.padEnd(15)} ${fixed(rps, 0)} req/s, ${fixed(cpu, 1)} CPU µs/req`,
      );
    console.log(`warm CPU per request: activator ${fixed(rows[0][2] / rows[1][2])}× the bare forwarder`);
    console.log(
      `\nresults: ${saveResults("activator", { coldStarts, appStarts, errors, idle, loaded, rows })}`,
    );
  } finally {
    await plane.stop();
  }
}
