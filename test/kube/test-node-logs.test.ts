// pods/log through the real API server, served by the test node's kubelet API: a container's
// output by name, tailLines, timestamps, follow until the container ends, and 404s.
import { PassThrough } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { Agent, fetch } from "undici";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";
import { skipUnlessTool } from "../helpers/required-tool.ts";
import { haveOpenssl } from "../helpers/test-certificate.ts";

const skip =
  (await skipUnlessControlPlane(t)) ||
  skipUnlessPodNetwork() ||
  skipUnlessTool("openssl", haveOpenssl(), "apt-get install openssl");

// Three lines (the third on stderr), then a tick every 100 ms until SIGTERM, which it answers with a last line.
const talker = `
  console.log("line 1"); console.log("line 2");
  setTimeout(() => console.error("line 3 on stderr"), 30); // after the two on stdout, another pipe
  let n = 0;
  const timer = setInterval(() => console.log("tick " + ++n), 100);
  process.on("SIGTERM", () => { clearInterval(timer); console.log("bye"); process.exit(0); });
`;

t.test("pods/log reaches the test node's kubelet API, with follow", { skip }, async (t) => {
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
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "talker" },
      spec: {
        terminationGracePeriodSeconds: 5,
        containers: [
          { name: "main", image: "node:24", command: ["node", "-e", talker] },
          {
            name: "side",
            image: "node:24",
            command: ["node", "-e", "console.log('side car'); setInterval(() => {}, 1000)"],
          },
        ],
      },
    },
  });
  await waitFor("ticks", () => node.logs(namespace, "talker", "main").includes("tick 2"), {
    timeoutMs: 20_000,
  });

  const all = await core.readNamespacedPodLog({ name: "talker", namespace, container: "main" });
  t.match(all, /^line 1\nline 2\nline 3 on stderr\ntick 1\n/, "stdout and stderr, in order");
  const side = await core.readNamespacedPodLog({ name: "talker", namespace, container: "side" });
  t.equal(side, "side car\n", "each container's own output");
  const tail = await core.readNamespacedPodLog({
    name: "talker",
    namespace,
    container: "main",
    tailLines: 2,
  });
  t.match(tail, /^tick \d+\ntick \d+\n$/, "tailLines");
  const stamped = await core.readNamespacedPodLog({
    name: "talker",
    namespace,
    container: "main",
    timestamps: true,
  });
  t.match(stamped.split("\n")[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 1$/, "timestamps");
  const limited = await core.readNamespacedPodLog({
    name: "talker",
    namespace,
    container: "main",
    limitBytes: 9,
  });
  t.equal(limited, "line 1\nli", "limitBytes");
  await t.rejects(
    core.readNamespacedPodLog({ name: "talker", namespace, container: "nope" }),
    { code: 400 },
    "the API server refuses a container the pod does not have",
  );

  // The kubelet API itself answers 404 for what it does not run.
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => insecure.close());
  const kubeletUrl = `https://${node.hostIP}:${node.kubeletPort}/containerLogs`;
  const unknownPod = await fetch(`${kubeletUrl}/${namespace}/ghost/main`, { dispatcher: insecure });
  t.equal(unknownPod.status, 404);
  t.match(await unknownPod.text(), /pod "default\/ghost" not found/);
  const unknownContainer = await fetch(`${kubeletUrl}/${namespace}/talker/nope`, { dispatcher: insecure });
  t.equal(unknownContainer.status, 404);
  t.match(await unknownContainer.text(), /container "nope" not found/);

  // Follow: new lines stream in as they are written, and the stream ends with the container.
  let followed = "";
  const sink = new PassThrough();
  sink.on("data", (chunk: Buffer) => {
    followed += chunk.toString();
  });
  let ended = false;
  sink.once("end", () => {
    ended = true;
  });
  const lastBefore = Number(/tick (\d+)\n$/.exec(all)?.[1]);
  await new k8s.Log(cp.kubeConfig).log(namespace, "talker", "main", sink, { follow: true, tailLines: 1 });
  await waitFor(
    "ticks written after the request",
    () => [...followed.matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > lastBefore + 3),
    { timeoutMs: 10_000 },
  );
  t.pass("follow streams new output");
  await core.deleteNamespacedPod({ name: "talker", namespace });
  await waitFor("the follow stream to end", () => ended, { timeoutMs: 20_000 });
  t.match(followed, /bye\n$/, "and ends once the container has stopped, with its last words");
  t.notMatch(followed, /line 1/, "from the tail on");
});
