// When a source applied again counts as changed (SourceRunners restarts it) or not (left running).
import t from "tap";
import type { PingSourceRuntime } from "../../eventing/resources/compile-sources.ts";
import { sourceFingerprint, sourceKey } from "../../eventing/sources/runner.ts";

const ping = (data: string, extensions: Record<string, string> = {}): PingSourceRuntime => ({
  kind: "PingSource",
  namespace: "default",
  name: "p",
  sink: { url: "http://127.0.0.1:1/", describe: "uri" },
  extensions,
  schedule: { pattern: "* * * * *", timezone: undefined } as unknown as PingSourceRuntime["schedule"],
  contentType: undefined,
  data: Buffer.from(data),
});

t.test("fingerprints", async (t) => {
  t.equal(sourceKey(ping("a")), "PingSource default/p");
  t.equal(sourceFingerprint(ping("a")), sourceFingerprint(ping("a")), "the same source, the same text");
  t.not(sourceFingerprint(ping("a")), sourceFingerprint(ping("b")), "data bytes count");
  t.equal(
    sourceFingerprint(ping("a", { x: "1", y: "2" })),
    sourceFingerprint({ ...ping("a"), extensions: { y: "2", x: "1" } }),
    "key order does not",
  );
  const github = (types: string[]) =>
    sourceFingerprint({
      kind: "GitHubSource",
      namespace: "default",
      name: "g",
      sink: { url: "http://x/", describe: "uri" },
      extensions: {},
      ownerAndRepository: "o/r",
      eventTypes: new Set(types),
      secretToken: { name: "s", key: "k" },
    });
  t.equal(github(["push", "issues"]), github(["issues", "push"]), "a Set by its members");
  t.not(github(["push"]), github(["push", "issues"]));
});
