import t from "tap";
import { bannerText } from "../../cli/up/banner.ts";
import type { DataPlaneState } from "../../common/state.ts";

const state: DataPlaneState = {
  generation: 1,
  domain: "example.com",
  services: {
    "default/hello": {
      name: "hello",
      namespace: "default",
      hosts: ["hello.default.example.com"],
      traffic: [{ revision: "hello-00001", percent: 100 }],
      tags: {},
    },
  },
  revisions: {},
};
const facts = {
  files: ["hello.yaml"],
  autoscalerUrl: "http://127.0.0.1:8090",
  activatorUrl: "http://127.0.0.1:4000",
  routerUrl: "http://127.0.0.1:8080",
  state,
  inactive: [],
};

t.test("the banner never prints SLUICE_TOKEN (output ends up in logs)", async (t) => {
  const text = bannerText({ ...facts, token: "s3cret-token-value-123" });
  t.notMatch(text, /s3cret/);
  t.match(text, "status page   http://127.0.0.1:8090/#token=<your SLUICE_TOKEN>");
  t.match(bannerText(facts), /status page {3}http:\/\/127\.0\.0\.1:8090\/\n/, "no fragment without a token");
});

t.test("services of earlier runs are named as inactive", async (t) => {
  t.notMatch(bannerText(facts), /earlier runs/);
  t.match(
    bannerText({ ...facts, inactive: ["old", "staging/other"] }),
    "From earlier runs, kept inactive (no pods): old, staging/other.",
  );
});
