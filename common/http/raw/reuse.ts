import { sameHeaderName } from "../header-name.ts";

// Whether an upstream connection may carry another request after a response, and for how long it
// may then sit idle: undici's rules (client-h1.js), but for one cap. undici may keep a connection
// idle up to the app's hint less 2 s, to 10 minutes; here never past the pool's own keep-alive
// timeout, as before the hint was read (what sluice's hops say is timeout=5: idle 3 s at most).

/** The connection must not carry another request. */
export const NO_REUSE = -1;

/** undici's keepAliveTimeoutThreshold: an app's own keep-alive timeout, less this much. */
const KEEP_ALIVE_MARGIN_MS = 2000;
const KEEP_ALIVE_TIMEOUT = /(?:^|,)[\t ]*timeout=(\d+)/i;

/**
 * For a response the app kept alive: how long the connection may stay idle after it (0: no limit),
 * or NO_REUSE.
 * - A 204 or 304 that announces a body (a content-length above 0, or transfer-encoding) has none by
 *   definition; bytes the app sends anyway would be read as the next request's response.
 * - `Keep-Alive: timeout=N`: the app closes an idle connection after N s. Reused no later than
 *   N − 2 s (not at all for N ≤ 2), and never later than the pool's own `keepAliveMs`: a request
 *   written as the app closes its end would fail.
 */
export function reuseAfter(status: number, headers: readonly string[], keepAliveMs: number): number {
  const noBody = status === 204 || status === 304;
  let idleMs = keepAliveMs;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (sameHeaderName(name, "keep-alive")) {
      const match = KEEP_ALIVE_TIMEOUT.exec(headers[i + 1]);
      if (match === null) continue;
      const hintMs = Number(match[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
      if (hintMs <= 0) return NO_REUSE;
      idleMs = idleMs === 0 ? hintMs : Math.min(idleMs, hintMs);
    } else if (noBody) {
      if (sameHeaderName(name, "transfer-encoding")) return NO_REUSE;
      if (sameHeaderName(name, "content-length") && Number(headers[i + 1]) > 0) return NO_REUSE;
    }
  }
  return idleMs;
}
