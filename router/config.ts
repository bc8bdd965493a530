import { existsSync } from "node:fs";
import { EnvReader } from "../common/env.ts";
import { parseHopSecret } from "../common/hop-auth.ts";
import { type ListenerLimits, readListenerLimits } from "../common/http/listener-limits.ts";
import { type DataPathName, readDataPath } from "../common/http/raw/data-path.ts";
import { type LogLevel, readLogLevel } from "../common/log.ts";
import { parseTrustedProxies, type TrustedProxies } from "./trusted-proxies.ts";

/** The router's settings, from its environment, parsed once at start-up. */
export interface RouterConfig {
  /** LOG_LEVEL. */
  logLevel: LogLevel;
  port: number;
  adminPort: number;
  bindAddress: string;
  autoscalerUrl: string;
  activatorUrl: string;
  /** HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on its own port, when a cert/key pair is given. */
  tls: { port: number; certFile: string; keyFile: string } | undefined;
  /** Route by the Sluice-Tag request header on a service's main hosts (off by default, as Knative). */
  tagHeaderRouting: boolean;
  /** Peers whose X-Forwarded-* the router keeps (ROUTER_TRUSTED_PROXIES; default: nobody). */
  trustedProxies: TrustedProxies;
  /** The installation's hop secret, sent to the activator with Sluice-Revision. */
  hopSecret: string | undefined;
  /** When the host is unknown, route /{host}/rest by its first path segment (e.g. /hello/). */
  pathRouting: boolean;
  /** Header timeout, keep-alive, connection cap, header size and HTTP/2 limits (ROUTER_*). */
  limits: ListenerLimits;
  /** Longest a request may take, on top of its revision's timeout (the inner hops time out first). */
  timeoutSlackMs: number;
  drainTimeoutMs: number;
  accessLog: boolean;
  /** SLUICE_DATA_PATH: HTTP/1.1 on raw sockets framed by llhttp (default), or node:http + undici. */
  dataPath: DataPathName;
}

function baseUrl(env: EnvReader, name: string, fallback: string): string {
  const url = env.string(name, fallback).replace(/\/$/, "");
  if (!/^https?:\/\/[^/]+$/.test(url))
    env.problem(`${name}=${JSON.stringify(url)}: expected http://host:port`);
  return url;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): RouterConfig {
  const env = new EnvReader("router", source);
  const certFile = env.optionalString("ROUTER_TLS_CERT_FILE");
  const keyFile = env.optionalString("ROUTER_TLS_KEY_FILE");
  const tlsPort = env.port("ROUTER_TLS_PORT", 8443, { allowZero: true });
  if ((certFile === undefined) !== (keyFile === undefined))
    env.problem("ROUTER_TLS_CERT_FILE and ROUTER_TLS_KEY_FILE: set both or neither");
  for (const [name, file] of [
    ["ROUTER_TLS_CERT_FILE", certFile],
    ["ROUTER_TLS_KEY_FILE", keyFile],
  ] as const) {
    if (file !== undefined && !existsSync(file)) env.problem(`${name}=${JSON.stringify(file)}: no such file`);
  }
  const trusted = parseTrustedProxies(env.optionalString("ROUTER_TRUSTED_PROXIES"));
  for (const problem of trusted.problems) env.problem(`ROUTER_TRUSTED_PROXIES: ${problem}`);
  const hop = parseHopSecret(env.optionalString("SLUICE_HOP_SECRET"));
  if (hop.problem) env.problem(hop.problem);
  const config: RouterConfig = {
    logLevel: readLogLevel(env),
    port: env.port("ROUTER_PORT", 8080, { allowZero: true }),
    adminPort: env.port("ROUTER_ADMIN_PORT", 9080, { allowZero: true }),
    bindAddress: env.string("ROUTER_BIND_ADDRESS", "127.0.0.1"),
    autoscalerUrl: baseUrl(env, "AUTOSCALER_URL", "http://127.0.0.1:8090"),
    activatorUrl: baseUrl(env, "ACTIVATOR_URL", "http://127.0.0.1:8081"),
    tls: certFile && keyFile ? { port: tlsPort, certFile, keyFile } : undefined,
    tagHeaderRouting: env.bool("ROUTER_TAG_HEADER_ROUTING", false),
    trustedProxies: trusted.proxies,
    hopSecret: hop.secret,
    pathRouting: env.bool("ROUTER_PATH_ROUTING", true),
    limits: readListenerLimits(env, "ROUTER"),
    timeoutSlackMs: env.number("ROUTER_TIMEOUT_SLACK_SECONDS", 1, { min: 0, max: 600 }) * 1000,
    drainTimeoutMs: env.number("ROUTER_DRAIN_TIMEOUT_SECONDS", 330, { min: 0.1, max: 7200 }) * 1000,
    accessLog: env.bool("ROUTER_ACCESS_LOG", false),
    dataPath: readDataPath(env),
  };
  env.finish();
  return config;
}
