import { appendFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { FileFollower } from "../../platform/local/file-follower.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";

function tempFile(t: { teardown(fn: () => unknown): void }): string {
  const dir = tempDir(t, "sluice-follow-");
  return join(dir, "out");
}

t.test("passes on what is there, then what is appended", async (t) => {
  const path = tempFile(t);
  writeFileSync(path, "before\n");
  let text = "";
  const follower = new FileFollower(path, (piece) => (text += piece));
  follower.start();
  t.equal(text, "before\n");
  appendFileSync(path, "after\n");
  await waitFor("the appended line", () => text === "before\nafter\n");
  follower.close();
  t.pass();
});

t.test("a file that appears later is read once it does; split characters are kept whole", async (t) => {
  const path = tempFile(t);
  let text = "";
  const follower = new FileFollower(path, (piece) => (text += piece));
  follower.start();
  const euro = Buffer.from("€");
  writeFileSync(path, euro.subarray(0, 1));
  follower.read();
  appendFileSync(path, euro.subarray(1));
  follower.close();
  t.equal(text, "€");
});

t.test("past maxBytes the file is truncated after reading", async (t) => {
  const path = tempFile(t);
  let text = "";
  const follower = new FileFollower(path, (piece) => (text += piece), { maxBytes: 10 });
  follower.start();
  appendFileSync(path, "0123456789ab\n");
  follower.read();
  t.equal(statSync(path).size, 0, "truncated");
  appendFileSync(path, "next\n");
  follower.close();
  t.equal(text, "0123456789ab\nnext\n", "nothing lost, nothing repeated");
});
