import t from "tap";
import { PodLogs } from "../../platform/local/pod-logs.ts";
import type { LogLine } from "../../platform/platform.ts";

const pod = (revision: string, name: string, service = "svc") => ({
  namespace: "default",
  service,
  revision,
  pod: name,
});
const texts = (lines: LogLine[]) => lines.map((line) => `${line.pod} ${line.text}`);

t.test("lines across chunk boundaries, per stream, unfinished ones on exit", async (t) => {
  const logs = new PodLogs();
  const output = logs.open(pod("svc-00001", "svc-00001-001"));
  output.write("stdout", "one\ntw");
  output.write("stderr", "oops");
  output.write("stdout", "o\r\nthree");
  t.same(texts(logs.recent({})), ["svc-00001-001 one", "svc-00001-001 two"]);
  t.same(output.lastText(5), ["one", "two", "three", "oops"], "failure reports include unfinished lines");
  output.end();
  t.same(
    logs.recent({}).map((line) => [line.stream, line.text]),
    [
      ["stdout", "one"],
      ["stdout", "two"],
      ["stdout", "three"],
      ["stderr", "oops"],
    ],
  );
});

t.test("bounded: lines per pod, line length, exited pods per revision", async (t) => {
  const logs = new PodLogs({ linesPerPod: 3, exitedPodsPerRevision: 2, maxLineLength: 5 });
  const first = logs.open(pod("svc-00001", "p1"));
  first.write("stdout", "a\nb\nc\nd\ne\n");
  t.same(texts(logs.recent({})), ["p1 c", "p1 d", "p1 e"], "the oldest go first");
  first.write("stdout", "123456789\n");
  t.equal(logs.recent({}).at(-1)?.text, "12345…");
  first.write("stdout", "abcdefgh");
  t.equal(logs.recent({}).at(-1)?.text, "abcde…", "an endless line is cut, not buffered forever");

  for (const name of ["p2", "p3", "p4"]) {
    const output = logs.open(pod("svc-00001", name));
    output.write("stdout", `${name}\n`);
    output.end();
  }
  first.end();
  t.same(
    [...new Set(logs.recent({}).map((line) => line.pod))],
    ["p3", "p4"],
    "only the two most recent exited pods are kept",
  );
  logs.forget("default/svc-00001");
  t.same(logs.recent({}), []);
});

t.test("filters, order across pods, listeners", async (t) => {
  const logs = new PodLogs();
  const seen: string[] = [];
  const stop = logs.subscribe((line) => seen.push(`${line.pod} ${line.text}`));
  const a = logs.open(pod("svc-00001", "a"));
  const b = logs.open(pod("svc-00002", "b"));
  const other = logs.open(pod("web-00001", "w", "web"));
  a.write("stdout", "1\n");
  b.write("stdout", "2\n");
  other.write("stdout", "3\n");
  a.write("stdout", "4\n");
  t.same(texts(logs.recent({ service: "svc" })), ["a 1", "b 2", "a 4"], "oldest first across pods");
  t.same(texts(logs.recent({ revision: "svc-00002" })), ["b 2"]);
  t.same(texts(logs.recent({ namespace: "prod" })), []);
  t.same(seen, ["a 1", "b 2", "w 3", "a 4"]);
  stop();
  a.write("stdout", "5\n");
  t.equal(seen.length, 4, "a stopped listener hears nothing more");
});
