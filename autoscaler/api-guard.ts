import { hostAllowed } from "./allowed-host.ts";
import { bearerMatches } from "./bearer-token.ts";

/**
 * The autoscaler API's gate, in front of every route. The API can start processes (the local
 * platform runs what a Service names), so a web page the user visits must not be able to drive
 * it: foreign Host names are refused (DNS rebinding), writes need a JSON or YAML content type (a
 * cross-site form or `text/plain` fetch cannot send one without a CORS preflight), preflights
 * are refused and no response ever carries Access-Control-* headers, and when a token is set
 * every request needs it. Pure: the server applies the answer.
 */

export interface GuardOptions {
  /** SLUICE_TOKEN; when set, every request but the probes and the status page's files needs it. */
  token?: string;
  /** Host names answered besides loopback ones (AUTOSCALER_ALLOWED_HOSTS); "*" = any. */
  allowedHosts: readonly string[];
}

export interface GuardedRequest {
  method: string;
  path: string;
  headers: { host?: string; authorization?: string; "content-type"?: string };
}

export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** Liveness and readiness probes: a kubelet sends the pod's IP as Host and has no token. */
const PROBES = new Set(["/healthz", "/readyz"]);

/**
 * The status page's static files hold no data, and a browser cannot attach a bearer token to a
 * navigation; the page sends the token on its own data requests (see docs/autoscaler.md).
 */
const isPageFile = (path: string) => path === "/" || path.startsWith("/status-page/");

const YAML_OR_JSON = ["application/yaml", "application/x-yaml", "text/yaml", "application/json"];

/** Content types each write accepts; the media type only, parameters (charset) ignored. */
export const WRITE_CONTENT_TYPES: Readonly<Record<string, readonly string[]>> = {
  "PUT /v1/services": YAML_OR_JSON,
  "POST /v1/stats": ["application/json"],
  "PUT /v1/components": ["application/json"],
};

function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(";", 1)[0].trim().toLowerCase();
  return type ? type : undefined;
}

/** Why the request is refused, or undefined to let it through to its route. */
export function guardRequest(req: GuardedRequest, options: GuardOptions): Refusal | undefined {
  if (PROBES.has(req.path)) return undefined;
  if (!hostAllowed(req.headers.host, options.allowedHosts)) {
    const extra = options.allowedHosts.length > 0 ? `, ${options.allowedHosts.join(", ")}` : "";
    return {
      status: 403,
      message:
        `autoscaler: refusing Host ${JSON.stringify(req.headers.host ?? "")}: this API answers only ` +
        `localhost, 127.0.0.1, [::1]${extra} (set AUTOSCALER_ALLOWED_HOSTS to add names)`,
    };
  }
  if (req.method === "OPTIONS") {
    return {
      status: 405,
      message: "autoscaler: OPTIONS not allowed: this API answers no cross-origin (CORS) requests",
      headers: { allow: "GET, PUT, POST" },
    };
  }
  if (options.token !== undefined && !isPageFile(req.path)) {
    const { authorization } = req.headers;
    if (!bearerMatches(authorization, options.token)) {
      return {
        status: 401,
        message: `autoscaler: ${authorization ? "wrong" : "missing"} bearer token: send Authorization: Bearer $SLUICE_TOKEN`,
        headers: {
          "www-authenticate": authorization
            ? 'Bearer realm="sluice", error="invalid_token"'
            : 'Bearer realm="sluice"',
        },
      };
    }
  }
  const accepted = WRITE_CONTENT_TYPES[`${req.method} ${req.path}`];
  const type = mediaType(req.headers["content-type"]);
  if (accepted && (type === undefined || !accepted.includes(type))) {
    return {
      status: 415,
      message: `autoscaler: ${req.method} ${req.path} takes Content-Type ${accepted.join(", ")}; got ${type ?? "none"}`,
    };
  }
  return undefined;
}
