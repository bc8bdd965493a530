// Runs inside a test pod's network namespace (test-node.ts starts it): accepts on <podIP>:<port> and
// forwards to 127.0.0.1:<port>, for a container that listens on loopback only (as
// test/fixtures/app.ts does), the way a pod's port is reachable at the pod IP in a real cluster.
// Usage: node loopback-forwarder.ts <podIP> <port>
import { connect, createServer } from "node:net";

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
const server = createServer((inbound) => {
  const outbound = connect(port, "127.0.0.1");
  inbound.pipe(outbound);
  outbound.pipe(inbound);
  inbound.on("error", () => outbound.destroy());
  outbound.on("error", () => inbound.destroy());
});
server.listen(port, host);
process.on("SIGTERM", () => process.exit(0));
