// An httpGet readiness probe of the app, one request on a fresh connection as the kubelet makes
// it: ready on a 2xx or 3xx answer within the probe's timeout. On the raw data path it is sent by
// the raw upstream client, so a probed queue-proxy never loads node:http (~2 MB of RSS in every
// pod); on the node path, by node:http.
import type { NodeParserBinding } from "../common/http/raw/node-parser.ts";
import { UpstreamPool } from "../common/http/raw/upstream-pool.ts";
import type { ReadinessProbe } from "./config.ts";

export type HttpProbe = Extract<ReadinessProbe, { kind: "http" }>;
export type HttpGet = (probe: HttpProbe) => Promise<boolean>;

const isReadyStatus = (status: number) => status >= 200 && status < 400;

/** node:http is loaded on first use: a TCP probe (the default) never needs it. */
export const nodeHttpGet: HttpGet = (probe) =>
  new Promise((resolve) => {
    const { request } = process.getBuiltinModule("node:http");
    const req = request(
      { host: probe.host, port: probe.port, path: probe.path, timeout: probe.timeoutMs, agent: false },
      (res) => {
        res.resume();
        resolve(isReadyStatus(res.statusCode ?? 0));
      },
    );
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.end();
  });

/**
 * The probe on the raw path's client: a pool of its own per probe, closed at the answer's head (its
 * body is not needed) or at the timeout, which covers the connect too.
 */
export function rawHttpGet(binding: NodeParserBinding): HttpGet {
  return (probe) =>
    new Promise((resolve) => {
      const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: probe.timeoutMs });
      const done = (ready: boolean) => {
        clearTimeout(timer);
        void pool.close();
        resolve(ready);
      };
      const timer = setTimeout(done, probe.timeoutMs, false);
      const host = probe.host.includes(":") ? `[${probe.host}]` : probe.host;
      try {
        pool.dispatch(
          { origin: `http://${host}:${probe.port}`, path: probe.path, method: "GET" },
          {
            onResponseStart: (_request, status) => done(isReadyStatus(status)),
            onResponseError: () => done(false),
          },
        );
      } catch {
        done(false); // an address no URL takes: never ready, as a connect to it would fail
      }
    });
}
