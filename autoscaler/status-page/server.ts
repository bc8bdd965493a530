import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Asset {
  path: string;
  file: string;
  contentType: string;
}

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const uplot = (name: string) => createRequire(import.meta.url).resolve(`uplot/dist/${name}`);

/** Everything the page loads, all from the autoscaler itself: no build step, no external request. */
const ASSETS: Asset[] = [
  { path: "/", file: here("index.html"), contentType: "text/html; charset=utf-8" },
  { path: "/status-page/app.js", file: here("app.js"), contentType: "text/javascript; charset=utf-8" },
  { path: "/status-page/style.css", file: here("style.css"), contentType: "text/css; charset=utf-8" },
  {
    path: "/status-page/uPlot.iife.min.js",
    file: uplot("uPlot.iife.min.js"),
    contentType: "text/javascript; charset=utf-8",
  },
  {
    path: "/status-page/uPlot.min.css",
    file: uplot("uPlot.min.css"),
    contentType: "text/css; charset=utf-8",
  },
];

/** The page may talk to its own origin only (the favicon is an empty data: URL). */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/**
 * The live status page (GET /): index.html, its script and stylesheet, and uPlot from
 * node_modules. Files are read once, at start; the page polls GET /v1/status for its data.
 */
export function statusPageRoutes(): Record<string, Handler> {
  const routes: Record<string, Handler> = {};
  for (const asset of ASSETS) {
    const body = readFileSync(asset.file);
    routes[`GET ${asset.path}`] = (_req, res) => {
      res.writeHead(200, {
        "content-type": asset.contentType,
        "content-length": body.length,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "content-security-policy": CONTENT_SECURITY_POLICY,
      });
      res.end(body);
    };
  }
  return routes;
}
