// A stand-in for an OpenTelemetry collector in the tracing rows: accepts OTLP/HTTP posts and drops
// them, answering 200 with an empty body (an empty ExportTraceServiceResponse: all accepted). Its
// CPU is the collector's, not the router's, so no row charges it.
import { createServer } from "node:http";

let spans = 0;
const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    spans++;
    res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": "0" });
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
// How many exports came, for a check that the traced routers really export.
process.on("SIGUSR2", () => process.stderr.write(`otlp-sink: ${spans} exports\n`));
