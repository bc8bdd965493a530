// The test node as kube-proxy and cluster DNS: a pod reaches Services by name at their ClusterIPs,
// names of Services made after the pod started resolve, and the proxy follows the endpoints.
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();

// Answers with its pod's name on every address (no loopback forwarder involved).
const server = `
  import { createServer } from "node:http";
  createServer((req, res) => res.end(process.env.POD)).listen(9000);
`;
// Asks the Service by each of its names in turn, a new connection each time (no keep-alive, so
// every request is balanced anew), printing "<name> -> <answer>" or "<name> !! <error>".
const client = `
  import { get } from "node:http";
  const names = ["echo", "echo.default", "echo.default.svc", "echo.default.svc.cluster.local"];
  for (let i = 0; ; i++) {
    const host = names[i % names.length];
    const line = await new Promise((resolve) => {
      get({ host, port: 80, path: "/", agent: false, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(host + " -> " + body));
      })
        .on("timeout", function () { this.destroy(new Error("timeout")); })
        .on("error", (error) => resolve(host + " !! " + (error.code ?? error.message)));
    });
    console.log(line);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
`;

t.test(
  "a pod reaches another through a Service's name and ClusterIP, following its endpoints",
  { skip },
  async (t) => {
    const cp = await startControlPlane(t);
    const node = await startTestNode(t, cp);
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const namespace = "default";
    await waitFor(
      "the default ServiceAccount",
      () => core.readNamespacedServiceAccount({ name: "default", namespace }),
      {
        timeoutMs: 20_000,
        everyMs: 100,
      },
    );
    const serverPod = (name: string): k8s.V1Pod => ({
      metadata: { name, labels: { app: "echo" } },
      spec: {
        containers: [
          {
            name: "main",
            image: "node:24",
            command: ["node", "--input-type=module", "-e", server],
            env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
            ports: [{ name: "http", containerPort: 9000 }],
            readinessProbe: { tcpSocket: { port: "http" } },
          },
        ],
      },
    });
    const output = () => node.logs(namespace, "client");
    /** Lines the client printed after `from` characters of its output. */
    const linesAfter = (from: number) => output().slice(from).split("\n").filter(Boolean);

    // The client starts before the Service exists: its name does not resolve yet.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "client" },
        spec: {
          containers: [
            { name: "main", image: "node:24", command: ["node", "--input-type=module", "-e", client] },
          ],
        },
      },
    });
    await waitFor(
      "the client to fail to resolve the Service",
      () => / !! (ENOTFOUND|EAI_AGAIN)/.test(output()),
      {
        timeoutMs: 20_000,
      },
    );

    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: "echo" },
        spec: { selector: { app: "echo" }, ports: [{ name: "web", port: 80, targetPort: "http" }] },
      },
    });
    await core.createNamespacedPod({ namespace, body: serverPod("echo-a") });
    let mark = output().length;
    await waitFor(
      "every name of the Service to answer from echo-a",
      () =>
        ["echo ", "echo.default ", "echo.default.svc ", "echo.default.svc.cluster.local "].every((name) =>
          linesAfter(mark).some((l) => l.startsWith(name) && l.endsWith("-> echo-a")),
        ),
      { timeoutMs: 20_000 },
    ).catch((error) => {
      t.comment(output().slice(-2000));
      throw error;
    });
    t.pass("the short name, <svc>.<ns>, <svc>.<ns>.svc and the full name all reach the Service");

    const service = await core.readNamespacedService({ name: "echo", namespace });
    const key = `${service.spec?.clusterIP}:80`;
    t.match(node.serviceBackends(key), [{ port: 9000 }], "the named targetPort is the container's port");

    // A second ready endpoint: connections are spread over both.
    await core.createNamespacedPod({ namespace, body: serverPod("echo-b") });
    await waitFor("two ready backends", () => node.serviceBackends(key)?.length === 2, { timeoutMs: 20_000 });
    mark = output().length;
    await waitFor(
      "answers from both pods",
      () => ["-> echo-a", "-> echo-b"].every((end) => linesAfter(mark).some((l) => l.endsWith(end))),
      { timeoutMs: 20_000 },
    );
    t.pass("round robin over the ready endpoints");

    // The first goes away: only the second answers from then on.
    await core.deleteNamespacedPod({ name: "echo-a", namespace, gracePeriodSeconds: 0 });
    await waitFor("one backend left", () => node.serviceBackends(key)?.length === 1, { timeoutMs: 20_000 });
    mark = output().length;
    // Answers only: a request may fail while the pod goes (the one under way to echo-a), but none
    // is answered by echo-a once the node's table has changed.
    const answers = () => linesAfter(mark).filter((l) => l.includes(" -> "));
    await waitFor("eight answers", () => answers().length >= 8, { timeoutMs: 20_000 });
    t.same(
      answers().filter((l) => !l.endsWith("-> echo-b")),
      [],
      "every request after the endpoint change goes to echo-b",
    );

    // Without a ready endpoint the ClusterIP refuses, rather than holding the connection.
    await core.deleteNamespacedPod({ name: "echo-b", namespace, gracePeriodSeconds: 0 });
    await waitFor("no backend left", () => node.serviceBackends(key)?.length === 0, { timeoutMs: 20_000 });
    mark = output().length;
    await waitFor("a refused request", () => linesAfter(mark).some((l) => / !! ECONNRESET$/.test(l)), {
      timeoutMs: 20_000,
    }).catch((error) => {
      t.comment(linesAfter(mark).join("\n"));
      throw error;
    });
    t.pass("a Service without ready endpoints resets the connection");

    // A deleted Service's address is let go.
    await core.deleteNamespacedService({ name: "echo", namespace });
    await waitFor("the listener to close", () => node.serviceBackends(key) === undefined, {
      timeoutMs: 20_000,
    });
    mark = output().length;
    await waitFor(
      "the name to stop resolving",
      () => linesAfter(mark).some((l) => / !! (ENOTFOUND|EAI_AGAIN)$/.test(l)),
      {
        timeoutMs: 20_000,
      },
    );
    t.pass("and its name goes with it");
  },
);
