import { spawn } from "node:child_process";
import t from "tap";
import { request } from "undici";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { sluice } from "../helpers/sluice-cli.ts";

/** The example app, one pod kept up (min-scale 1), so it has output to show. */
const GREETER = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: greeter
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/window: "6s"
    spec:
      containers:
        - command: ["${process.execPath}", "${ROOT}examples/hello/app.ts"]
          env:
            - name: TARGET
              value: logs
`;

t.test("sluice logs shows and follows a pod's output", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const at = ["--autoscaler", autoscaler.url];
  await autoscaler.apply(GREETER);
  const podUrl = await waitFor("a ready pod", async () => {
    const endpoint = (await autoscaler.state()).revisions["default/greeter-00001"]?.endpoints[0];
    return endpoint?.url;
  });
  const hello = await request(`${podUrl}/?sleep=1`);
  t.equal(await hello.body.text(), "Hello from greeter-00001 (logs) after 1 ms\n");

  // The app's start-up line and its request line, prefixed with the pod.
  const shown = await waitFor("the request's log line", async () => {
    const result = await sluice(["logs", "greeter", ...at]);
    return result.stdout.includes("GET /?sleep=1 200") ? result : undefined;
  });
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /^\[greeter-00001-001\] greeter-00001 listening on port \d+ \(TARGET=logs\)\n/);
  t.match(shown.stdout, /\n\[greeter-00001-001\] GET \/\?sleep=1 200 \d+ms\n$/);

  const last = await sluice(["logs", "greeter", "--tail", "1", "--revision", "greeter-00001", ...at]);
  t.equal(last.code, 0, last.stderr);
  t.match(last.stdout, /^\[greeter-00001-001\] GET \/\?sleep=1 200 \d+ms\n$/, "--tail 1: the last line only");
  const everyone = await sluice(["logs", ...at]);
  t.equal(everyone.stdout, shown.stdout, "without a service: every service's pods (one here)");

  // --follow: the recent lines, then each new one as the pod writes it, until Ctrl-C.
  const follow = spawn(process.execPath, [`${ROOT}cli/main.ts`, "logs", "greeter", "-f", ...at], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let followed = "";
  let followErrors = "";
  follow.stdout.on("data", (chunk) => (followed += chunk));
  follow.stderr.on("data", (chunk) => (followErrors += chunk));
  const followExit = new Promise<number | null>((resolve) => follow.once("exit", (code) => resolve(code)));
  t.teardown(() => {
    if (follow.exitCode === null) follow.kill("SIGKILL");
  });
  await waitFor("the recent lines", () => followed.includes("GET /?sleep=1 200"));
  await (await request(`${podUrl}/stream?n=2`)).body.text();
  await waitFor("the new line, followed", () => followed.includes("GET /stream?n=2 200"));
  t.match(followed, /\[greeter-00001-001\] GET \/stream\?n=2 200 \d+ms\n$/);
  follow.kill("SIGINT");
  t.equal(await followExit, 0, followErrors);
});

t.test("unknown services and revisions: exit 1 with what there is", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const at = ["--autoscaler", autoscaler.url];
  const none = await sluice(["logs", "greeter", ...at]);
  t.equal(none.code, 1);
  t.equal(none.stderr, "sluice logs: no service greeter; there are no services yet\n");

  await autoscaler.apply(GREETER.replace('min-scale: "1"', 'initial-scale: "0"')); // no pod
  const unknown = await sluice(["logs", "nope", ...at]);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, "sluice logs: no service nope; known services: greeter\n");
  const otherNamespace = await sluice(["logs", "greeter", "-n", "prod", ...at]);
  t.equal(otherNamespace.code, 1);
  t.match(otherNamespace.stderr, "no service prod/greeter; known services: greeter");
  const revision = await sluice(["logs", "greeter", "--revision", "greeter-00009", ...at]);
  t.equal(revision.code, 1);
  t.match(revision.stderr, "service greeter has no revision greeter-00009; its revisions: greeter-00001");

  // A service with no pod output yet: nothing to show is not an error.
  const empty = await sluice(["logs", "greeter", ...at]);
  t.equal(empty.code, 0, empty.stderr);
  t.equal(empty.stdout, "");

  const badTail = await request(`${autoscaler.url}/v1/logs?service=greeter&tail=-3`);
  t.equal(badTail.statusCode, 400);
  t.match(await badTail.body.text(), /tail must be a whole number/);
});

t.test("an unreachable autoscaler and bad usage", async (t) => {
  const url = `http://127.0.0.1:${await refusedPort(t)}`;
  const unreachable = await sluice(["logs", "greeter", "--autoscaler", url]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, `cannot reach the autoscaler at ${url}`);

  const help = await sluice(["logs", "--help"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: sluice logs \[SERVICE\]/);
  for (const args of [
    ["--since", "5m"],
    ["a", "b"],
    ["--tail", "x"],
  ]) {
    const result = await sluice(["logs", ...args]);
    t.equal(result.code, 2, args.join(" "));
    t.match(result.stderr, /^sluice logs: /);
  }
});
