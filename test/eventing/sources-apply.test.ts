// Sources applied to a running eventing process (PUT /v1/eventing, what `sluice apply` sends),
// with the real nats-server: a PingSource applied at run time fires; applied again unchanged it
// is left alone; changed, it is restarted and only the new form fires from then on; a source the
// process started with keeps running through all of it; a GitHubSource applied later opens the
// webhook port; an invalid KafkaSource, or a GitHubSource without its secret, is a 400 naming the
// problem and nothing changes.
import { readFileSync, writeFileSync } from "node:fs";
import t from "tap";
import { signBody } from "../../eventing/sources/github-signature.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

interface Applied {
  ok: boolean;
  problems: string[];
  applied: { kind: string; namespace: string; name: string; change: string }[];
}

interface SourceStatus {
  kind: string;
  namespace: string;
  name: string;
  sink: string;
  url?: string;
  counts: Record<string, number>;
}

const ping = (name: string, data: string, sink: string) => `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: ${name} }
spec:
  schedule: "* * * * * *"
  data: "${data}"
  sink: { uri: "${sink}" }
`;

t.test("sources applied at run time", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const sink = await startRecorder(t);
  const appliedFile = tempPath(t, "applied.yaml", "sluice-sources-apply-");
  writeFileSync(
    appliedFile,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
${ping("steady", "steady", `${sink.url}/steady`)}`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: appliedFile,
    env: {
      EVENTING_WEBHOOK_PORT: "0",
      EVENTING_APPLIED_FILE: appliedFile,
      SLUICE_SECRET_HOOK_SECRETTOKEN: "hook-s3cret",
      LOG_LEVEL: "info",
    },
    timeoutMs: 60_000,
  });
  const admin = `${eventing.adminUrl}/v1/eventing`;
  t.equal(eventing.message.webhookPort, undefined, "no webhook port without a GitHubSource");
  const put = async (yaml: string, file = "applied.yaml") => {
    const res = await fetch(`${admin}?file=${file}`, {
      method: "PUT",
      headers: { "content-type": "application/yaml" },
      body: yaml,
    });
    return { status: res.status, body: (await res.json()) as Applied };
  };
  const sources = async () => ((await (await fetch(admin)).json()) as { sources: SourceStatus[] }).sources;
  const bodies = (path: string) => sink.at(path).map((e) => e.body);
  await waitFor("the start-up PingSource fires", () => sink.at("/steady").length >= 1);

  await t.test("a PingSource applied at run time fires", async (t) => {
    const answer = await put(ping("fresh", "one", `${sink.url}/fresh`));
    t.equal(answer.status, 200, JSON.stringify(answer.body));
    t.same(answer.body.applied, [
      { kind: "PingSource", namespace: "default", name: "fresh", change: "created" },
    ]);
    await waitFor("two ticks of the applied PingSource", () => bodies("/fresh").length >= 2, {
      timeoutMs: 15_000,
    });
    t.same(new Set(bodies("/fresh")), new Set(["one"]));
    t.match(
      (await sources()).map((s) => `${s.kind} ${s.name}`),
      ["PingSource steady", "PingSource fresh"],
      "GET /v1/eventing lists it",
    );
    t.match(readFileSync(appliedFile, "utf8"), /name: fresh/, "written for a restart");
  });

  await t.test("applied again as it is: unchanged, left running", async (t) => {
    const answer = await put(ping("fresh", "one", `${sink.url}/fresh`));
    t.same(answer.body.applied, [
      { kind: "PingSource", namespace: "default", name: "fresh", change: "unchanged" },
    ]);
    t.equal(
      eventing
        .output()
        .match(/PingSource default\/fresh.*"scheduled"|"scheduled".*PingSource default\/fresh/g)?.length,
      1,
      "scheduled once: not restarted",
    );
  });

  await t.test("changed: restarted, and only the new form fires from then on", async (t) => {
    const answer = await put(ping("fresh", "two", `${sink.url}/fresh`));
    t.same(answer.body.applied, [
      { kind: "PingSource", namespace: "default", name: "fresh", change: "configured" },
    ]);
    // The old job's deliveries in flight were finished before the answer: none comes after it.
    const ones = bodies("/fresh").filter((b) => b === "one").length;
    await waitFor(
      "two ticks of the changed PingSource",
      () => bodies("/fresh").filter((b) => b === "two").length >= 2,
      {
        timeoutMs: 15_000,
      },
    );
    t.equal(
      bodies("/fresh").filter((b) => b === "one").length,
      ones,
      "no tick of the old form after the apply",
    );
  });

  await t.test("the start-up source kept running through the applies", async (t) => {
    const before = sink.at("/steady").length;
    await waitFor("the steady PingSource still fires", () => sink.at("/steady").length >= before + 2, {
      timeoutMs: 15_000,
    });
    t.equal(
      eventing
        .output()
        .match(/PingSource default\/steady.*"scheduled"|"scheduled".*PingSource default\/steady/g)?.length,
      1,
      "scheduled once, at start: never restarted",
    );
  });

  await t.test("an invalid KafkaSource: 400 naming the problem, nothing changed", async (t) => {
    const before = readFileSync(appliedFile, "utf8");
    const listed = await sources();
    const answer = await put(
      `${ping("another", "x", `${sink.url}/another`)}---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: orders }
spec:
  bootstrapServers: ["kafka.local"]
  topics: []
  sink: { uri: "${sink.url}/kafka" }
`,
      "kafka.yaml",
    );
    t.equal(answer.status, 400);
    t.same(answer.body.applied, []);
    t.same(answer.body.problems, [
      'kafka.yaml:13:22: spec.bootstrapServers[0]: "kafka.local" is not host:port',
      "kafka.yaml:14:11: spec.topics: needs at least one topic",
    ]);
    t.same(await sources(), listed, "the sources are as they were");
    t.equal(readFileSync(appliedFile, "utf8"), before, "the applied file too");
    t.equal(bodies("/another").length, 0, "the valid PingSource beside it did not start");
  });

  await t.test("a GitHubSource applied later opens the webhook port; without its secret, 400", async (t) => {
    const github = (secret: string) => `apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: { name: hook }
spec:
  ownerAndRepository: octo/hello
  eventTypes: [push]
  secretToken: { secretKeyRef: { name: ${secret}, key: secretToken } }
  sink: { uri: "${sink.url}/github" }
`;
    const missing = await put(github("nowhere"));
    t.equal(missing.status, 400);
    t.match(missing.body.problems, [
      /GitHubSource default\/hook: secretToken: .*SLUICE_SECRET_NOWHERE_SECRETTOKEN/,
    ]);
    t.notOk(
      (await sources()).some((s) => s.kind === "GitHubSource"),
      "not applied",
    );

    const answer = await put(github("hook"));
    t.equal(answer.status, 200, JSON.stringify(answer.body));
    const url = (await sources()).find((s) => s.kind === "GitHubSource")?.url;
    t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/default\/hook$/, "its Payload URL is listed");
    const body = JSON.stringify({
      ref: "refs/heads/main",
      repository: { name: "hello", owner: { login: "octo" } },
    });
    const res = await fetch(url as string, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": "d-1",
        "x-hub-signature-256": signBody("hook-s3cret", Buffer.from(body)),
      },
    });
    t.equal(res.status, 202, await res.text());
    await waitFor("the webhook's event at the sink", () => sink.at("/github").length === 1);
  });
});
