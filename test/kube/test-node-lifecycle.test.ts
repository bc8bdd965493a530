// preStop hooks on the test node: on deletion each container's hook (httpGet by port name, exec)
// runs and completes before the container gets its SIGTERM, as the kubelet does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();

// Records events in the file $RECORD as "<container> <event>": its hook request (answered only
// after 300 ms, like a drain that takes a while) and its SIGTERM.
const web = `
  import { appendFileSync } from "node:fs";
  import { createServer } from "node:http";
  const record = (event) => appendFileSync(process.env.RECORD, "web " + event + "\\n");
  createServer((req, res) => {
    if (req.url !== "/drain") return res.end("ok");
    record("hook start");
    setTimeout(() => { record("hook end"); res.end("drained"); }, 300);
  }).listen(8022, "127.0.0.1"); // loopback only: the node reaches it through the pod-IP forwarder
  process.on("SIGTERM", () => { record("sigterm"); process.exit(0); });
  record("started");
`;
const worker = `
  const { appendFileSync } = require("node:fs");
  process.on("SIGTERM", () => { appendFileSync(process.env.RECORD, "worker sigterm\\n"); process.exit(0); });
  setInterval(() => {}, 1000);
`;

t.test("preStop hooks run before SIGTERM when a pod is deleted", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const namespace = "default";
  const dir = tempDir(t, "sluice-prestop-");
  const record = join(dir, "events");
  const events = () => {
    try {
      return readFileSync(record, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  await waitFor(
    "the default ServiceAccount",
    () => core.readNamespacedServiceAccount({ name: "default", namespace }),
    {
      timeoutMs: 20_000,
      everyMs: 100,
    },
  );
  const env = [{ name: "RECORD", value: record }];
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "draining" },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: "web",
            image: "node:24",
            command: ["node", "--input-type=module", "-e", web],
            env,
            ports: [{ name: "admin", containerPort: 8022 }],
            // Ready once reachable at the pod IP (through the node's loopback forwarder).
            readinessProbe: { httpGet: { path: "/", port: "admin" } },
            lifecycle: { preStop: { httpGet: { path: "/drain", port: "admin" } } },
          },
          {
            name: "worker",
            image: "node:24",
            command: ["node", "-e", worker],
            env,
            // Runs in the container's environment: $RECORD is its own.
            lifecycle: {
              preStop: {
                exec: {
                  command: [
                    "node",
                    "-e",
                    "require('fs').appendFileSync(process.env.RECORD, 'worker hook\\n')",
                  ],
                },
              },
            },
          },
        ],
      },
    },
  });
  await waitFor(
    "the pod to be ready",
    async () => {
      const pod = await core.readNamespacedPod({ name: "draining", namespace });
      return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );

  const deleted = Date.now();
  await core.deleteNamespacedPod({ name: "draining", namespace });
  await waitFor(
    "the pod to be gone",
    async () =>
      !(await core.listNamespacedPod({ namespace })).items.some((p) => p.metadata?.name === "draining"),
    { timeoutMs: 20_000, everyMs: 100 },
  );
  const seen = events();
  const at = (event: string) => seen.indexOf(event);
  t.ok(at("web hook start") >= 0, "the httpGet hook reached the container at its named port", { seen });
  t.ok(
    at("web hook start") < at("web hook end") && at("web hook end") < at("web sigterm"),
    "SIGTERM came after the hook had finished",
    { seen },
  );
  t.ok(
    at("worker hook") >= 0 && at("worker hook") < at("worker sigterm"),
    "the exec hook ran before SIGTERM",
    {
      seen,
    },
  );
  t.ok(Date.now() - deleted < 10_000, "within the grace period");
});
