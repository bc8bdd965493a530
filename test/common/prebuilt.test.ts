// The prebuilt bundles on a small project of their own: scripts/build.ts makes CommonJS scripts
// of ES module entry points (top-level await, import.meta.url, Node built-ins), and
// common/prebuilt.ts runs them only while every input is as it was built.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t, { type Test } from "tap";
import { prebuiltEntry, preferPrebuilt, staleness } from "../../common/prebuilt.ts";
import { build } from "../../scripts/build.ts";

const MAIN = `import { createServer } from "node:http";
import { answer } from "./lib.ts";
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
server.close();
if (process.env.THROW) throw new Error("thrown at the top level");
console.log(JSON.stringify({ answer, url: import.meta.url, commonjs: typeof require === "function" }));
`;
const LIB = "export const answer: number = 42;\n";
const GUARD = 'console.log("guard loaded");\n';
const ENTRIES = { "app/main.ts": "app.cjs", "app/guard.ts": "guard.cjs" };

function project(t: Test) {
  const root = mkdtempSync(join(tmpdir(), "sluice-prebuilt-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "app"));
  writeFileSync(join(root, "app/main.ts"), MAIN);
  writeFileSync(join(root, "app/lib.ts"), LIB);
  writeFileSync(join(root, "app/guard.ts"), GUARD);
  const dist = join(root, "dist");
  return { root, dist, main: join(root, "app/main.ts"), lib: join(root, "app/lib.ts") };
}

t.test("a fresh bundle is a CommonJS script that runs like its source", async (t) => {
  const { root, dist, main } = project(t);
  t.equal(staleness({ root, dist }), `no build in ${dist}`);
  t.equal(prebuiltEntry(main, { root, dist }), undefined, "no build: the source runs");

  const result = await build({ root, dist, entries: ENTRIES });
  t.same(result.bundles.map((b) => b.source).sort(), ["app/guard.ts", "app/main.ts"]);
  t.equal(staleness({ root, dist }), undefined, "fresh");
  const bundle = prebuiltEntry(main, { root, dist });
  t.equal(bundle, join(dist, "app.cjs"));

  const run = spawnSync(process.execPath, [bundle as string], { encoding: "utf8" });
  t.equal(run.status, 0, run.stderr);
  t.same(JSON.parse(run.stdout), {
    answer: 42,
    url: pathToFileURL(main).href, // import.meta.url is the source's, whatever the bundle's path
    commonjs: true,
  });

  const thrown = spawnSync(process.execPath, [bundle as string], {
    encoding: "utf8",
    env: { ...process.env, THROW: "1" },
  });
  t.equal(thrown.status, 1, "a top-level throw exits 1, as an ES module entry point does");
  t.match(thrown.stderr, /thrown at the top level/);
});

t.test("a bundle whose inputs changed never runs", async (t) => {
  const { root, dist, main, lib } = project(t);
  await build({ root, dist, entries: ENTRIES });
  t.equal(prebuiltEntry(main, { root, dist }), join(dist, "app.cjs"));

  // The same content with a new mtime (a checkout, a touch): still fresh, by its hash.
  utimesSync(lib, new Date(), new Date(Date.now() + 5000));
  t.equal(staleness({ root, dist }), undefined, "touched, same content: fresh");

  // Same size, other content: the hash tells.
  writeFileSync(lib, LIB.replace("42", "43"));
  t.equal(staleness({ root, dist }), "app/lib.ts changed");
  t.equal(prebuiltEntry(main, { root, dist }), undefined, "stale: the source runs");
  t.same(preferPrebuilt([main], { root, dist }), [main]);

  writeFileSync(lib, LIB);
  t.equal(staleness({ root, dist }), undefined, "the content it was built from: fresh again");

  writeFileSync(lib, `${LIB}export const more = 1;\n`);
  t.equal(staleness({ root, dist }), "app/lib.ts changed", "a longer file");
  writeFileSync(lib, LIB);

  rmSync(lib);
  t.equal(staleness({ root, dist }), "app/lib.ts is gone");
  writeFileSync(lib, LIB);

  rmSync(join(dist, "guard.cjs"));
  t.match(staleness({ root, dist }), /guard\.cjs is missing/);
  await build({ root, dist, entries: ENTRIES });
  t.equal(staleness({ root, dist }), undefined, "rebuilt");

  writeFileSync(join(dist, "manifest.json"), JSON.stringify({ version: 0, entries: {}, inputs: {} }));
  t.match(staleness({ root, dist }), /another format/);
});

t.test("preferPrebuilt replaces only the bundled entry points, --import by --require", async (t) => {
  const { root, dist, main } = project(t);
  await build({ root, dist, entries: ENTRIES });
  const guardUrl = pathToFileURL(join(root, "app/guard.ts")).href;
  t.same(preferPrebuilt(["--import", guardUrl, main, "--flag", "other.ts"], { root, dist }), [
    "--require",
    join(dist, "guard.cjs"),
    join(dist, "app.cjs"),
    "--flag",
    "other.ts",
  ]);
  t.same(preferPrebuilt(["-e", "1", "app.ts"], { root, dist }), ["-e", "1", "app.ts"], "nothing of ours");

  const run = spawnSync(process.execPath, preferPrebuilt(["--import", guardUrl, main], { root, dist }), {
    encoding: "utf8",
  });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /^guard loaded\n\{"answer":42/, "the guard's bundle is preloaded with --require");

  writeFileSync(join(root, "app/guard.ts"), `${GUARD}// changed\n`);
  t.same(
    preferPrebuilt(["--import", guardUrl, main], { root, dist }),
    ["--import", guardUrl, main],
    "one stale input: every entry point runs from source",
  );
  t.ok(readFileSync(join(dist, "manifest.json"), "utf8").includes('"app/lib.ts"'), "inputs recorded");
});
