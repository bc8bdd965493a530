// 200 (POD_COUNT) queue-proxy admin ports in one process, each answering /stats like a real one:
// the scrape loop's cost is the HTTP round trips, which this reproduces without 200 processes.
import { createServer } from "node:http";

const count = Number(process.env.POD_COUNT ?? 200);
const ports: number[] = [];
let listening = 0;
for (let i = 0; i < count; i++) {
  const body = JSON.stringify({
    revision: `rev-${i % 10}`,
    pod: `pod-${i}`,
    averageConcurrency: 1.5,
    averageProxiedConcurrency: 0,
    requestCount: 100,
    proxiedRequestCount: 0,
    inFlight: 1,
    queued: 0,
    windowSeconds: 1,
    uptimeSeconds: 60,
    ready: true,
  });
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    ports[i] = typeof address === "object" && address ? address.port : 0;
    if (++listening === count) process.send?.({ type: "listening", ports });
  });
}
