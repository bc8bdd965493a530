import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { serviceYaml } from "../helpers/service-yaml.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

/** A service that starts at zero (no pods in these tests); `target` changes its template. */
const SERVICE = (name: string, target: string, traffic = "") =>
  serviceYaml(name, {
    annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
    env: { TARGET: target },
    traffic,
  });

t.test("sluice apply against a real autoscaler", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const at = ["--autoscaler", autoscaler.url];

  const first = await sluice(["apply", "-f", "examples", ...at]);
  t.equal(first.code, 0, first.stderr);
  t.same(first.stdout.trimEnd().split("\n"), [
    "hello: new service; new revisions hello-00001, hello-00002; traffic hello-00001 80%, hello-00002 20% (canary)",
    "one-at-a-time: new service; new revision one-at-a-time-00001; traffic latest 100%",
    "scheduled: new service; new revision scheduled-00001; traffic latest 100%",
  ]);
  const state = await autoscaler.state();
  t.same(state.services["default/hello"].traffic, [
    { revision: "hello-00001", percent: 80 },
    { revision: "hello-00002", percent: 20, tag: "canary" },
  ]);
  t.same(state.services["default/hello"].tags.canary.hosts[0], "canary-hello.default.example.com");
  t.same(Object.keys(state.revisions).sort(), [
    "default/hello-00001",
    "default/hello-00002",
    "default/one-at-a-time-00001",
    "default/scheduled-00001",
  ]);

  const again = await sluice(["apply", "-f", "examples/hello.yaml", ...at]);
  t.equal(again.code, 0, again.stderr);
  t.equal(
    again.stdout,
    "hello: unchanged (revisions hello-00001, hello-00002; traffic hello-00001 80%, hello-00002 20% (canary))\n",
    "applying the same file again changes nothing",
  );

  // A new template is a new revision; a traffic change says what it was.
  const dir = tempDir(t, "sluice-apply-");
  const v2 = join(dir, "v2.yaml");
  writeFileSync(
    v2,
    SERVICE(
      "scheduled",
      "v2",
      "  traffic:\n    - latestRevision: true\n      percent: 50\n    - revisionName: scheduled-00001\n      percent: 50\n",
    ),
  );
  const changed = await sluice(["apply", "-f", v2, ...at]);
  t.equal(changed.code, 0, changed.stderr);
  t.equal(
    changed.stdout,
    "scheduled: new revision scheduled-00002; traffic latest 50%, scheduled-00001 50% (was latest 100%)\n",
    "scheduled-00001 exists on the autoscaler, so the split may refer to it",
  );
});

t.test("invalid files: every problem, exit 2, nothing applied", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const dir = tempDir(t, "sluice-apply-");
  const good = join(dir, "a-good.yaml");
  const bad = join(dir, "b-bad.yaml");
  writeFileSync(good, SERVICE("good", "v1"));
  writeFileSync(
    bad,
    SERVICE("bad", "v1", "  traffic:\n    - revisionName: bad-00007\n      percent: 100\n").replace(
      "initial-scale",
      "initial-scales",
    ),
  );
  const result = await sluice(["apply", "-f", dir, "--autoscaler", autoscaler.url]);
  t.equal(result.code, 2);
  t.match(
    result.stderr,
    `${bad}:9:9: spec.template.metadata.annotations["autoscaling.knative.dev/initial-scales"]`,
  );
  t.match(
    result.stderr,
    `${bad}:17:21: spec.traffic[0].revisionName: revision bad-00007 does not exist (the service has no revisions yet)`,
  );
  t.match(result.stderr, /invalid: 2 problem\(s\); nothing was applied/);
  t.same((await autoscaler.state()).services, {}, "not even the good file");

  const missing = await sluice([
    "apply",
    "-f",
    good,
    "-f",
    join(dir, "nope.yaml"),
    "--autoscaler",
    autoscaler.url,
  ]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /nope\.yaml: cannot read: ENOENT/);
  t.same((await autoscaler.state()).services, {});
});

t.test("a file the autoscaler refuses stops the rest; the files before it stay applied", async (t) => {
  const autoscaler = await startAutoscaler(t);
  const dir = tempDir(t, "sluice-apply-");
  const first = join(dir, "1.yaml");
  const image = join(dir, "2.yaml");
  const third = join(dir, "3.yaml");
  writeFileSync(first, SERVICE("first", "v1"));
  // Valid Knative, but the local platform runs processes, not images.
  writeFileSync(
    image,
    SERVICE("image", "v1").replace('- command: ["node", "app.ts"]', "- image: ghcr.io/knative/helloworld-go"),
  );
  writeFileSync(third, SERVICE("third", "v1"));
  const result = await sluice([
    "apply",
    "-f",
    first,
    "-f",
    image,
    "-f",
    third,
    "--autoscaler",
    autoscaler.url,
  ]);
  t.equal(result.code, 2);
  t.match(result.stderr, /image: containers\[0\] has no command \(image ghcr\.io\/knative\/helloworld-go\)/);
  t.match(
    result.stderr,
    `the autoscaler refused ${image}; applied before it: ${first}; not applied: ${image}, ${third}`,
  );
  t.same(Object.keys((await autoscaler.state()).services), ["default/first"]);
});

t.test("an unreachable autoscaler: exit 1, naming the URL", async (t) => {
  const url = `http://127.0.0.1:${await refusedPort(t)}`;
  const result = await sluice(["apply", "-f", "examples", "--autoscaler", url]);
  t.equal(result.code, 1);
  t.match(result.stderr, `sluice apply: cannot reach the autoscaler at ${url} (ECONNREFUSED)`);
});

t.test("usage: --help, unknown flags, no files, a bad URL", async (t) => {
  const help = await sluice(["apply", "-h"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: sluice apply -f FILE/);
  t.match(help.stdout, /never deletes/);
  for (const args of [["--force", "-f", "examples"], [], ["-f", "examples", "--autoscaler", "ftp://x"]]) {
    const result = await sluice(["apply", ...args]);
    t.equal(result.code, 2, args.join(" "));
    t.match(result.stderr, /sluice apply: /);
  }
});
