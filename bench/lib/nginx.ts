// nginx as the reference reverse proxy: one worker, upstream keep-alive, everything in a temp dir.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "../../common/free-port.ts";
import { atExit, type Child, startAndWait } from "./children.ts";
import { answers200 } from "./ready.ts";

/** The nginx binary: /usr/sbin/nginx (Debian's, often not on a user's PATH) or the first on PATH. */
export const NGINX = [
  "/usr/sbin/nginx",
  ...(process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, "nginx")),
].find((path) => existsSync(path));

export function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

/** Starts nginx in front of 127.0.0.1:upstreamPort; ready once it proxies a 200. */
export async function startNginx(upstreamPort: number): Promise<Child & { port: number }> {
  if (!NGINX) throw new Error("nginx is not installed");
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-nginx-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const forget = atExit(removeDir);
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, port, upstreamPort));
  try {
    const child = await startAndWait(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf")], {
      ready: answers200(`http://127.0.0.1:${port}/`),
    });
    return {
      ...child,
      port,
      async stop() {
        await child.stop();
        removeDir();
        forget();
      },
    };
  } catch (error) {
    removeDir();
    forget();
    throw error;
  }
}
