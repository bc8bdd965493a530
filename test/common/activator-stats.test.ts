import t from "tap";
import { parseActivatorStats } from "../../common/activator-stats.ts";

t.test("accepts a well-formed push", async (t) => {
  const push = {
    activator: "a1",
    revisions: [
      {
        namespace: "default",
        revision: "hello-00001",
        averageConcurrency: 2.5,
        requestCount: 10,
        windowSeconds: 1,
        poke: true,
      },
    ],
  };
  t.same(parseActivatorStats(push), push);
});

t.test("names the first problem and where it is", async (t) => {
  t.equal(parseActivatorStats(null), "body: expected a JSON object");
  t.equal(parseActivatorStats({ revisions: [] }), "activator: expected a non-empty string");
  t.equal(parseActivatorStats({ activator: "a", revisions: {} }), "revisions: expected an array");
  t.equal(
    parseActivatorStats({
      activator: "a",
      revisions: [
        { namespace: "default", revision: "r", averageConcurrency: -1, requestCount: 0, windowSeconds: 1 },
      ],
    }),
    "revisions[0].averageConcurrency: expected a number >= 0",
  );
  t.equal(
    parseActivatorStats({
      activator: "a",
      revisions: [
        { namespace: "default", revision: "", averageConcurrency: 0, requestCount: 0, windowSeconds: 1 },
      ],
    }),
    "revisions[0].revision: expected a revision name",
  );
  t.equal(
    parseActivatorStats({
      activator: "a",
      revisions: [
        {
          namespace: "default",
          revision: "r",
          averageConcurrency: 0,
          requestCount: 0,
          windowSeconds: 1,
          poke: "yes",
        },
      ],
    }),
    "revisions[0].poke: expected true or false",
  );
  t.equal(
    parseActivatorStats({
      activator: "a",
      revisions: [{ revision: "r", averageConcurrency: 0, requestCount: 0, windowSeconds: 1 }],
    }),
    "revisions[0].namespace: expected a namespace",
  );
});
