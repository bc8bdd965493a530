// Where a k6 script sends its requests, from the environment (k6 run -e NAME=value):
// BASE_URL (required) the router's or a queue-proxy's address; URL_PATH (default /); HOST, the
// Host header the router routes by (e.g. hello.default.example.com).

/** The request URL and the params (Host header) every request of a script uses. */
export function target() {
  const base = __ENV.BASE_URL;
  if (!base) throw new Error("set BASE_URL, e.g. -e BASE_URL=http://127.0.0.1:8080");
  const url = `${base.replace(/\/$/, "")}${__ENV.URL_PATH || "/"}`;
  /** @type {import("k6/http").RefinedParams<"text">} */
  const params = __ENV.HOST ? { headers: { Host: __ENV.HOST } } : {};
  return { url, params };
}

/**
 * A positive number from the environment, or `fallback` when unset.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return value;
}
