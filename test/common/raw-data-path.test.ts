import t from "tap";
import { EnvReader } from "../../common/env.ts";
import { chooseDataPath, readDataPath } from "../../common/http/raw/data-path.ts";
import { loadNodeParser } from "../../common/http/raw/node-parser.ts";

t.test("node's parser is found here, with llhttp's method table", async (t) => {
  const binding = loadNodeParser();
  t.notOk("problem" in binding, "usable on this Node");
  if (!("problem" in binding)) t.equal(binding.methods[1], "GET");
});

t.test("anything missing from node's internals is named, not thrown", async (t) => {
  t.match(
    loadNodeParser(() => ({})),
    { problem: /no HTTPParser/ },
  );
  t.match(
    loadNodeParser(() => {
      throw new Error("Cannot find module '_http_common'");
    }),
    { problem: /Cannot find module/ },
  );
  class NoConsume {}
  t.match(
    loadNodeParser(() => ({ HTTPParser: NoConsume })),
    { problem: /HTTPParser has no initialize\(\)/ },
  );
});

t.test("SLUICE_DATA_PATH picks the path; raw falls back to node when it cannot run", async (t) => {
  t.equal(readDataPath(new EnvReader("test", {})), "raw", "raw by default");
  t.equal(readDataPath(new EnvReader("test", { SLUICE_DATA_PATH: "node" })), "node");
  t.throws(() => {
    const env = new EnvReader("test", { SLUICE_DATA_PATH: "fast" });
    readDataPath(env);
    env.finish();
  }, /SLUICE_DATA_PATH/);
  t.same(chooseDataPath("node"), { name: "node" });
  t.equal(chooseDataPath("raw").name, "raw");
  t.match(
    chooseDataPath("raw", () => ({})),
    { name: "node", fallback: /no HTTPParser/ },
  );
});
