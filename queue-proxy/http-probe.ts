// An httpGet readiness probe of the app: one GET of the probe's path on a connection of its own,
// ready on a 2xx or 3xx head within the probe's timeout (the body is not waited for: the
// connection is closed once the head is in). On the raw data path it is sent by the raw upstream
// client, so a probed queue-proxy never loads node:http (~1 MB of RSS in every pod); on the node
// path, by node:http.
import type { NodeParserBinding } from "../common/http/raw/node-parser.ts";
import { UpstreamPool } from "../common/http/raw/upstream-pool.ts";
import { urlHost } from "../common/http/url-host.ts";
import type { ReadinessProbe } from "./config.ts";

export type HttpProbe = Extract<ReadinessProbe, { kind: "http" }>;
export type HttpGet = (probe: HttpProbe) => Promise<boolean>;

const isReadyStatus = (status: number) => status >= 200 && status < 400;

/**
 * One probe's outcome, settled once: by the answer's head, a failure, or the deadline, which
 * covers everything from the connect on (an app that trickles its head, or answers 101 and holds
 * the connection, is not ready). `close` releases the connection, whatever settled it.
 */
function settleOnce(timeoutMs: number, close: () => void, resolve: (ready: boolean) => void) {
  let settled = false;
  const settle = (ready: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(deadline);
    close();
    resolve(ready);
  };
  const deadline = setTimeout(settle, timeoutMs, false);
  return settle;
}

/** node:http is loaded on first use: a TCP probe (the default) never needs it. */
export const nodeHttpGet: HttpGet = (probe) =>
  new Promise((resolve) => {
    const { request } = process.getBuiltinModule("node:http");
    let req: ReturnType<typeof request> | undefined;
    const settle = settleOnce(probe.timeoutMs, () => req?.destroy(), resolve);
    try {
      req = request({ host: probe.host, port: probe.port, path: probe.path, agent: false }, (res) =>
        settle(isReadyStatus(res.statusCode ?? 0)),
      );
    } catch {
      return settle(false); // a path or host node:http refuses (config.ts lets none through)
    }
    req.once("error", () => settle(false));
    req.end();
  });

/** The probe on the raw path's client: a pool of its own per probe, closed when it settles. */
export function rawHttpGet(binding: NodeParserBinding): HttpGet {
  return (probe) =>
    new Promise((resolve) => {
      const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: probe.timeoutMs });
      const settle = settleOnce(probe.timeoutMs, () => void pool.close(), resolve);
      try {
        pool.dispatch(
          { origin: `http://${urlHost(probe.host)}:${probe.port}`, path: probe.path, method: "GET" },
          {
            onResponseStart: (_request, status) => settle(isReadyStatus(status)),
            onResponseError: () => settle(false),
          },
        );
      } catch {
        settle(false); // an address no URL takes: never ready, as a connect to it would fail
      }
    });
}
