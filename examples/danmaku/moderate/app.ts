// moderate: the KafkaSource's sink. Each request is one comment as a CloudEvent in binary mode
// (the record's JSON value as the body). A comment with a blocked word is dropped (200: taken,
// nothing more); any other is posted to K_SINK — the Broker, by the SinkBinding — as a
// danmaku.approved event, and only once the Broker stored it (202) does moderate answer 200, so
// the KafkaSource retries a comment whose approval was not stored. The approved event's id is
// the comment's: a retried post is stored once (the Broker de-duplicates by source + id).
// Plain node:http, listening on $PORT like any Knative workload.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readBody } from "../read-body.ts";
import { blockedWord, parseBlockList } from "./block-list.ts";

const PORT = Number(process.env.PORT ?? 8080);
const SINK = process.env.K_SINK;
const BLOCKED = parseBlockList(process.env.BLOCKED_WORDS);
const MAX_BODY_BYTES = 16 * 1024;
const SOURCE = "/danmaku/moderate";

if (!SINK) {
  console.error("moderate: K_SINK is not set (a SinkBinding to the Broker sets it)");
  process.exit(1);
}

interface Comment {
  id: string;
  text: string;
}

/** The comment in a request body, or why it is not one. */
function parseComment(body: string): Comment | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "the body is not JSON";
  }
  const { id, text } = (value ?? {}) as Record<string, unknown>;
  if (typeof id !== "string" || id === "") return "the comment has no id";
  if (typeof text !== "string") return "the comment has no text";
  return { ...(value as object), id, text };
}

async function approve(comment: Comment): Promise<void> {
  const res = await fetch(SINK as string, {
    method: "POST",
    headers: {
      "ce-specversion": "1.0",
      "ce-id": comment.id,
      "ce-source": SOURCE,
      "ce-type": "danmaku.approved",
      "content-type": "application/json",
    },
    body: JSON.stringify(comment),
    signal: AbortSignal.timeout(10_000),
  });
  await res.body?.cancel();
  if (res.status !== 202) throw new Error(`the Broker answered ${res.status}`);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end("POST a comment\n");
    return;
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    res.writeHead(413).end(`a comment is at most ${MAX_BODY_BYTES} bytes\n`);
    return;
  }
  const comment = parseComment(body);
  if (typeof comment === "string") {
    // Retrying a malformed comment cannot help: taken (2xx) so its partition moves on.
    console.log(`dropped ${req.headers["ce-id"] ?? "?"}: ${comment}`);
    res.writeHead(200).end();
    return;
  }
  const word = blockedWord(comment.text, BLOCKED);
  if (word !== undefined) {
    console.log(`blocked ${comment.id}: "${word}"`);
    res.writeHead(200).end();
    return;
  }
  try {
    await approve(comment);
    res.writeHead(200).end();
  } catch (error) {
    console.error(`approving ${comment.id} failed: ${(error as Error).message}`);
    res.writeHead(502).end("the approval was not stored; try again\n");
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`moderate: ${(error as Error).message}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.listen(PORT, () => console.log(`moderate listening on port ${PORT}, ${BLOCKED.size} blocked words`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
