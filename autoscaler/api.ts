import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { parseActivatorStats } from "../common/activator-stats.ts";
import { sendJson, sendPlain } from "../common/http/respond.ts";
import type { ComponentStatus } from "../common/status.ts";
import type { Platform } from "../platform/platform.ts";
import { type GuardOptions, guardRequest } from "./api-guard.ts";
import { parseComponentReport } from "./component-report.ts";
import type { Controller } from "./controller.ts";
import type { EventingStatusReader } from "./eventing-status.ts";
import { serveLogs } from "./logs.ts";
import { prometheusTargets } from "./prometheus-targets.ts";
import { namespaceOf } from "./service-entry.ts";
import type { StatePublisher } from "./state-publisher.ts";
import { buildStatus } from "./status.ts";
import { statusPageRoutes } from "./status-page/server.ts";
import { StreamSlots } from "./stream-slots.ts";

/** Bodies larger than this are refused (413): manifests and stat pushes are small. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface ApiOptions {
  controller: Controller;
  publisher: StatePublisher;
  registry: Registry;
  isReady: () => boolean;
  /** Host names, token: who may talk to the API (api-guard.ts). */
  guard: GuardOptions;
  /** Concurrent GET /v1/logs?follow=1 streams. */
  maxLogFollowers: number;
  /**
   * The pods, for GET /v1/prometheus/targets (absent: only the components are listed), and the
   * room for them, for GET /v1/status.
   */
  platform?: Pick<Platform, "revision" | "capacity">;
  /** Eventing's status for GET /v1/status (SLUICE_EVENTING_ADMIN_URL); absent: not shown. */
  eventing?: Pick<EventingStatusReader, "read">;
}

/**
 * The autoscaler's one HTTP port: the state watch, stats pushes, manifests, health, metrics, the
 * status page. Every request passes the guard first.
 */
export function createApiServer({
  controller,
  publisher,
  registry,
  isReady,
  guard,
  maxLogFollowers,
  platform,
  eventing,
}: ApiOptions): Server {
  const logFollowers = new StreamSlots(maxLogFollowers);
  // What `sluice up` last reported of its processes; shown, never acted on, and gone with this
  // process: a restarted autoscaler is sent it again.
  let components: ComponentStatus[] | undefined;
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void> = {
    "GET /healthz": (_req, res) => sendPlain(res, 200, "ok"),
    "GET /readyz": (_req, res) =>
      isReady() ? sendPlain(res, 200, "ready") : sendPlain(res, 503, "not ready"),
    "GET /metrics": async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(body);
    },
    "GET /v1/state": (req, res) => publisher.handle(req, res),
    "GET /v1/status": async (_req, res) => {
      // Read first (bounded, eventing-status.ts), so the rest of the snapshot is as fresh as it.
      const eventingStatus = await eventing?.read();
      sendJson(
        res,
        200,
        buildStatus(publisher.state, controller.revisionDetails(), {
          inactive: controller.inactiveServices(),
          components,
          eventing: eventingStatus,
          capacity: platform?.capacity?.(),
        }),
      );
    },
    ...statusPageRoutes(),
    "GET /v1/prometheus/targets": (req, res) =>
      sendJson(
        res,
        200,
        prometheusTargets({
          self: req.headers.host ?? `127.0.0.1:${req.socket.localPort}`,
          components,
          services: controller.services().map(({ manifest, revisions, active }) => ({
            namespace: namespaceOf(manifest),
            name: manifest.metadata.name,
            revisions,
            active,
          })),
          pods: (key) => platform?.revision(key),
        }),
      ),
    "GET /v1/logs": (req, res) => serveLogs(req, res, controller, logFollowers),
    "GET /v1/services": (_req, res) =>
      sendJson(res, 200, { services: controller.services(), revisions: controller.revisionDetails() }),
    "PUT /v1/services": async (req, res) => {
      const file = new URL(req.url ?? "/", "http://x").searchParams.get("file") ?? "request body";
      const result = controller.apply(await readBody(req), file);
      if (!result.ok) {
        if ((req.headers.accept ?? "").includes("application/json")) return sendJson(res, 400, result);
        return sendPlain(
          res,
          400,
          `invalid services; nothing was changed:\n${result.problems.map((p) => `  ${p}`).join("\n")}`,
        );
      }
      sendJson(res, 200, result);
    },
    "PUT /v1/components": async (req, res) => {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (error) {
        if (error instanceof BodyTooLarge) throw error;
        return sendPlain(res, 400, `component report: body is not JSON: ${(error as Error).message}`);
      }
      const report = parseComponentReport(body);
      if (typeof report === "string") return sendPlain(res, 400, `component report: ${report}`);
      components = report;
      sendJson(res, 200, { ok: true });
    },
    "POST /v1/stats": async (req, res) => {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (error) {
        if (error instanceof BodyTooLarge) throw error;
        return sendPlain(res, 400, `stats: body is not JSON: ${(error as Error).message}`);
      }
      const stats = parseActivatorStats(body);
      if (typeof stats === "string") return sendPlain(res, 400, `stats: ${stats}`);
      sendJson(res, 200, { unknownRevisions: controller.activatorStats(stats) });
    },
  };
  return createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const refusal = guardRequest({ method: req.method ?? "GET", path, headers: req.headers }, guard);
    if (refusal) {
      // The body is not read: close the connection rather than drain an unwanted upload.
      const close: Record<string, string> =
        req.method === "PUT" || req.method === "POST" ? { connection: "close" } : {};
      return sendPlain(res, refusal.status, refusal.message, { ...refusal.headers, ...close });
    }
    const route = routes[`${req.method} ${path}`];
    try {
      if (route) return await route(req, res);
      const allowed = Object.keys(routes).filter((key) => key.endsWith(` ${path}`));
      if (allowed.length > 0) {
        return sendPlain(res, 405, `${req.method} not allowed on ${path}`, {
          allow: allowed.map((key) => key.split(" ")[0]).join(", "),
        });
      }
      sendPlain(res, 404, `autoscaler: no endpoint ${path}`);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return sendPlain(res, 413, `autoscaler: body larger than ${MAX_BODY_BYTES} bytes`);
      sendPlain(res, 500, `autoscaler: ${(error as Error).message}`);
    }
  });
}
