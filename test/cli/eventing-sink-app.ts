// A Service's container for test/cli/eventing-up.test.ts: answers every CloudEvent with a reply
// event (type "answered", id "answer-<id>") whose data is the K_SINK (and K_SINK_ROUTER) its pod
// was given, so one reply shows the event woke it and the SinkBinding reached its environment.
import { createServer } from "node:http";

const server = createServer((req, res) => {
  req.resume();
  req.once("end", () => {
    res.writeHead(200, {
      "ce-specversion": "1.0",
      "ce-id": `answer-${req.headers["ce-id"]}`,
      "ce-source": "/eventing-sink-app",
      "ce-type": "answered",
      "content-type": "application/json",
    });
    res.end(
      JSON.stringify({ kSink: process.env.K_SINK ?? null, kSinkRouter: process.env.K_SINK_ROUTER ?? null }),
    );
  });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
