// examples/danmaku: its pure parts, its files, and the whole of it in headless Chromium —
// `sluice up -f examples/danmaku/` with the Kafka and nats-server sluice up starts; two viewers;
// a comment sent in one flies in the other; a comment with a blocked word never shows.
import { spawnSync } from "node:child_process";
import type { Page } from "puppeteer-core";
import t from "tap";
import { request } from "undici";
import {
  isLocalKafkaSource,
  isLoopbackServer,
  localKafkaTopics,
  pointKafkaSourcesAt,
} from "../../cli/up/kafka-server.ts";
import { parseUpArgs } from "../../cli/up/options.ts";
import type { StatusSnapshot } from "../../common/status.ts";
import type { SourceManifest } from "../../eventing/resources/source-manifest.ts";
import { blockedWord, parseBlockList } from "../../examples/danmaku/moderate/block-list.ts";
import { COLORS, parsePosted } from "../../examples/danmaku/web/comment.ts";
import { launchChromium, skipWithoutChromium } from "../helpers/browser.ts";
import { skipUnlessKafka } from "../helpers/kafka.ts";
import { skipUnlessNats } from "../helpers/nats.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { launchSluiceUp } from "../helpers/sluice-up.ts";

t.test("the block list: whole words, any case; a bad entry is named", async (t) => {
  const list = parseBlockList(" Spoiler, darn ,,rubbish");
  t.same([...list], ["spoiler", "darn", "rubbish"]);
  t.equal(blockedWord("What a SPOILER!", list), "spoiler");
  t.equal(blockedWord("darn-it", list), undefined, "a hyphenated word is one word");
  t.equal(blockedWord("spoilers ahead, unspoilered", list), undefined, "other words are not blocked");
  t.equal(blockedWord("oh darn.", list), "darn");
  t.equal(parseBlockList(undefined).size, 0);
  t.throws(() => parseBlockList("ok, two words"), /BLOCKED_WORDS: "two words" is not a word/);
});

t.test("a posted comment is checked, each problem named", async (t) => {
  t.same(parsePosted('{"text":" hi ","viewer":"v-1"}'), { text: "hi", viewer: "v-1", color: COLORS[0] });
  t.same(parsePosted(`{"text":"hi","viewer":"v","color":"${COLORS[2]}"}`), {
    text: "hi",
    viewer: "v",
    color: COLORS[2],
  });
  t.match(parsePosted("nope"), /^expected JSON/);
  t.match(parsePosted("[1]"), /^expected a JSON object/);
  t.match(parsePosted('{"text":"  ","viewer":"v"}'), /^text: expected a non-empty string/);
  t.match(parsePosted(`{"text":"${"x".repeat(81)}","viewer":"v"}`), /^text: at most 80 characters/);
  t.match(parsePosted('{"text":"hi","viewer":"a b"}'), /^viewer: expected/);
  t.match(parsePosted('{"text":"hi","viewer":"v","color":"red"}'), /^color: expected one of/);
});

t.test("sluice up's Kafka serves KafkaSources on this machine only", async (t) => {
  const source = (servers: string[], topics = ["t"]) =>
    ({ kind: "KafkaSource", spec: { bootstrapServers: servers, topics } }) as unknown as SourceManifest;
  t.ok(isLoopbackServer("127.0.0.1:9092"));
  t.ok(isLoopbackServer("localhost:9092"));
  t.ok(isLoopbackServer("[::1]:9092"));
  t.notOk(isLoopbackServer("kafka.example:9092"));
  t.ok(isLocalKafkaSource(source(["127.0.0.1:9092,localhost:9093"])));
  t.notOk(isLocalKafkaSource(source(["127.0.0.1:9092", "kafka.example:9092"])), "a real cluster's");
  t.same(
    localKafkaTopics([source(["127.0.0.1:1"], ["a", "b"]), source(["x:1"], ["c"]), source(["::1:1"], ["a"])]),
    ["a", "b"],
  );
  const yaml = [
    "apiVersion: sources.knative.dev/v1",
    "kind: KafkaSource",
    "metadata: { name: local }",
    "spec: { bootstrapServers: [127.0.0.1:9092], topics: [a], sink: { uri: http://x/ } }",
    "---",
    "apiVersion: sources.knative.dev/v1",
    "kind: KafkaSource",
    "metadata: { name: remote }",
    "spec: { bootstrapServers: [kafka.example:9092], topics: [b], sink: { uri: http://x/ } }",
    "",
  ].join("\n");
  const pointed = pointKafkaSourcesAt(yaml, "127.0.0.1:5555");
  t.match(pointed, /name: local }\nspec:\s*{\s*bootstrapServers: \[ 127\.0\.0\.1:5555 \]/);
  t.match(pointed, /bootstrapServers: \[ kafka\.example:9092 \]/, "a remote one is left alone");
  t.equal(parseUpArgs(["--kafka", "127.0.0.1:9092"], []).kafka, "127.0.0.1:9092");
  t.equal(parseUpArgs([], []).kafka, undefined, "none given: sluice up starts one");
  t.throws(() => parseUpArgs(["--kafka", "nats://x:1"], []), {
    message: "--kafka nats://x:1: expected host:port of a Kafka broker, such as 127.0.0.1:9092",
  });
  const noKafka = "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: b }\n";
  t.equal(pointKafkaSourcesAt(noKafka, "127.0.0.1:5555"), noKafka, "a file without one is unchanged");
});

t.test("the example's files validate", async (t) => {
  const run = spawnSync(process.execPath, ["cli/main.ts", "validate", "-f", "examples/danmaku/"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /valid: 2 services and 4 eventing resources/);
  t.match(run.stdout, /Trigger default\/approved-to-viewers on Broker danmaku → Service danmaku-web/);
});

const skip = skipUnlessNats() || skipUnlessKafka() || skipWithoutChromium;

/** The texts in a viewer's Recent list and flying over the video. */
function shown(page: Page): Promise<{ recent: string[]; flying: string[] }> {
  return page.evaluate(() => ({
    recent: [...document.querySelectorAll("#recent li")].map((li) => li.textContent ?? ""),
    flying: [...document.querySelectorAll("#bullets .bullet")].map((b) => b.textContent ?? ""),
  }));
}

async function send(page: Page, text: string): Promise<void> {
  await page.type("#text", text);
  const posted = page.waitForResponse((res) => res.url().endsWith("/comments"));
  await page.click("button[type=submit]");
  const res = await posted;
  if (res.status() !== 202) throw new Error(`POST /comments: ${res.status()} ${await res.text()}`);
  await page.waitForFunction(() => (document.getElementById("text") as HTMLInputElement).value === "");
}

t.test("two viewers in Chromium: comments fly across, a blocked one never shows", { skip }, async (t) => {
  const up = await launchSluiceUp(
    t,
    [],
    {},
    {
      // *.localhost resolves to this machine in Chromium: the page is at the Service's own host.
      flags: ["-f", "examples/danmaku/", "--eventing-port", "0", "--domain", "localhost"],
      prefix: "sluice-danmaku-",
      stopGraceMs: 30_000,
    },
  );
  t.match(up.banner, /kafka\s+127\.0\.0\.1:\d+\s+\(started by sluice up\)/, "sluice up started Kafka");
  t.match(up.banner, /nats\s+nats:\/\/127\.0\.0\.1:\d+/, "and nats-server");
  const routerPort = /router\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(up.banner)?.[1];
  const eventingAdmin = /eventing\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(up.banner)?.[1];
  const autoscaler = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(up.banner)?.[1];
  const moderate = async () => {
    const status = (await (await request(`${autoscaler}/v1/status`)).body.json()) as StatusSnapshot;
    return status.services.find((s) => s.name === "moderate")?.revisions[0];
  };
  t.match(await moderate(), { desiredPods: 0, pods: 0 }, "moderate starts at zero");
  const pageUrl = `http://danmaku-web.default.localhost:${routerPort}/`;

  const browser = await launchChromium(t);
  const problems: string[] = [];
  const open = async (name: string) => {
    // A context each: two viewers, as two people would be.
    const page = await (await browser.createBrowserContext()).newPage();
    page.on("pageerror", (error) => problems.push(`${name}: ${(error as Error).message}`));
    page.on("console", (m) => m.type() === "error" && problems.push(`${name}: ${m.text()}`));
    await page.goto(pageUrl, { timeout: 60_000 });
    await page.waitForSelector("body[data-live=true]", { timeout: 60_000 });
    return page;
  };
  const [alice, bob] = [await open("alice"), await open("bob")];

  const run = Math.random().toString(36).slice(2, 8);
  const hello = `hello from alice ${run}`;
  await send(alice, hello);
  // The first comment wakes moderate from zero: a cold start, so a generous bound.
  // Listed and flying: show() adds both at once, and the bullet flies for seconds.
  await bob.waitForFunction(
    (text) =>
      [...document.querySelectorAll("#recent li")].some((li) => li.textContent === text) &&
      [...document.querySelectorAll("#bullets .bullet")].some((b) => b.textContent === text),
    { timeout: 90_000 },
    hello,
  );
  t.pass("alice's comment reached bob, and flies across his video");
  await alice.waitForFunction(
    (text) => [...document.querySelectorAll("#recent li")].some((li) => li.textContent === text),
    {},
    hello,
  );
  t.pass("and alice sees it too");

  // One viewer's comments are one Kafka partition's, moderated in order: when the marker sent after
  // the blocked comment has arrived, the blocked one was moderated already. Once the Trigger has
  // also delivered everything the Broker took, no approved event is still on its way.
  const blocked = `what a Spoiler ${run}`;
  const marker = `marker ${run}`;
  await send(alice, blocked);
  await send(alice, marker);
  await bob.waitForFunction(
    (text) => [...document.querySelectorAll("#recent li")].some((li) => li.textContent === text),
    { timeout: 60_000 },
    marker,
  );
  const eventing = await waitFor(
    "the Trigger to have delivered every approved comment",
    async () => {
      const res = await request(`${eventingAdmin}/v1/eventing`);
      const status = (await res.body.json()) as {
        triggers: { name: string; counts: Record<string, number> }[];
        sources: { name: string; counts: Record<string, number> }[];
      };
      const counts = status.triggers.find((tr) => tr.name === "approved-to-viewers")?.counts;
      return counts && counts.accepted >= 2 && counts.accepted === counts.delivered ? status : undefined;
    },
    { timeoutMs: 30_000, everyMs: 200 },
  );
  // All three reached moderate (its 2xx is what the KafkaSource counts), which let two through.
  t.ok(
    (eventing.sources.find((s) => s.name === "danmaku-comments")?.counts.delivered ?? 0) >= 3,
    "the KafkaSource delivered all three to moderate",
  );
  for (const [name, page] of [
    ["alice", alice],
    ["bob", bob],
  ] as const) {
    const seen = await shown(page);
    t.ok(seen.recent.includes(marker), `${name} got the marker`);
    t.notOk(
      seen.recent.includes(blocked) || seen.flying.includes(blocked),
      `${name} never saw the blocked one`,
    );
  }
  t.same(problems, [], "no errors on the pages");
});
