// danmaku-web: the page, comments in (to Kafka), approved comments out (to every viewer).
//   GET /                 the page (public/: plain HTML, CSS and JS)
//   POST /comments        {"text", "viewer", "color"} → 202 {"id"} once Kafka stored it
//   GET /events           Server-Sent Events: `event: comment` per approved comment
//   POST /approved        the Trigger's delivery: a danmaku.approved CloudEvent (binary mode)
// Listens on $PORT; Kafka from KAFKA_BOOTSTRAP_SERVERS (comma-separated), topic DANMAKU_TOPIC.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readBody } from "../read-body.ts";
import { type Comment, parsePosted } from "./comment.ts";
import { CommentProducer } from "./producer.ts";
import { Viewers } from "./viewers.ts";

const PORT = Number(process.env.PORT ?? 8080);
const KAFKA = (process.env.KAFKA_BOOTSTRAP_SERVERS || "127.0.0.1:9092").split(",").map((s) => s.trim());
const TOPIC = process.env.DANMAKU_TOPIC || "danmaku-comments";
const MAX_BODY_BYTES = 4 * 1024;

const PUBLIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};
const files = new Map(
  Object.entries(PUBLIC).map(([path, { file }]) => [
    path,
    readFileSync(new URL(`public/${file}`, import.meta.url)),
  ]),
);

const viewers = new Viewers();
const producer = new CommentProducer(KAFKA, TOPIC);

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}

async function postComment(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) return reply(res, 413, { error: `at most ${MAX_BODY_BYTES} bytes` });
  const posted = parsePosted(body);
  if (typeof posted === "string") return reply(res, 400, { error: posted });
  const comment: Comment = { id: randomUUID(), at: Date.now(), ...posted };
  try {
    await producer.send(comment);
  } catch (error) {
    console.error(`Kafka did not take comment ${comment.id}: ${(error as Error).message}`);
    return reply(res, 503, { error: "comments are not taken right now; try again" });
  }
  reply(res, 202, { id: comment.id });
}

async function approved(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  const id = req.headers["ce-id"];
  if (body === undefined || typeof id !== "string" || req.headers["ce-type"] !== "danmaku.approved")
    return reply(res, 400, { error: "expected a danmaku.approved CloudEvent in binary mode" });
  let comment: unknown;
  try {
    comment = JSON.parse(body);
  } catch {
    return reply(res, 400, { error: "the event's data is not JSON" });
  }
  viewers.broadcast(id, comment);
  res.writeHead(200).end();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  const page = PUBLIC[path];
  if (req.method === "GET" && page) {
    res.writeHead(200, { "content-type": page.type }).end(files.get(path));
  } else if (req.method === "GET" && path === "/events") {
    viewers.add(res);
  } else if (req.method === "POST" && path === "/comments") {
    await postComment(req, res);
  } else if (req.method === "POST" && path === "/approved") {
    await approved(req, res);
  } else if (req.method === "GET" && path === "/healthz") {
    reply(res, 200, { viewers: viewers.count });
  } else {
    reply(res, 404, { error: `no ${req.method} ${path}` });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`danmaku-web: ${(error as Error).message}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.listen(PORT, () =>
  console.log(`danmaku-web listening on port ${PORT}, Kafka ${KAFKA.join(",")} topic ${TOPIC}`),
);
process.on("SIGTERM", () => {
  viewers.close();
  server.close(() => void producer.close().finally(() => process.exit(0)));
});
