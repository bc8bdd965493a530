// A subscriber app run by sluice as a Service's container for eventing tests: answers every
// CloudEvent with a reply event in binary mode (type "echoed", id "echo-<id>", the K_REVISION
// that answered and how many requests it held at once in the data).
import { createServer } from "node:http";

let inFlight = 0;
const server = createServer((req, res) => {
  inFlight++;
  const concurrent = inFlight;
  req.resume();
  req.once("end", () => {
    // A turn of the event loop, so overlapping deliveries would overlap here.
    setImmediate(() => {
      inFlight--;
      res.writeHead(200, {
        "ce-specversion": "1.0",
        "ce-id": `echo-${req.headers["ce-id"]}`,
        "ce-source": "/reply-app",
        "ce-type": "echoed",
        "content-type": "application/json",
      });
      res.end(JSON.stringify({ revision: process.env.K_REVISION, concurrent }));
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
