// The raw HTTP/1.1 path uses node internals: where they are missing, a router asked for the raw
// path says so and serves on node:http instead.
import t from "tap";
import { request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { ROOT } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";
import { startDifferentialApp } from "./differential-app.ts";

t.test("without node's parser the router falls back to node:http and still serves", async (t) => {
  const app = await startDifferentialApp();
  t.teardown(app.close);
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("fb", [{ revision: "fb-00001", percent: 100 }])],
      [revisionState("fb-00001", "fb", { endpoints: [{ pod: "p", url: `http://127.0.0.1:${app.port}` }] })],
    ),
  );
  const router = await startRouter(t, fake.url, {
    SLUICE_DATA_PATH: "raw",
    NODE_OPTIONS: `--import=${ROOT}test/fixtures/hide-http-parser.ts`,
  });
  t.equal(router.message.dataPath, "node", "the router runs the node:http path");
  t.match(router.output(), /raw HTTP\/1\.1 path unavailable here; using node:http/);
  t.match(router.output(), /_http_common has no HTTPParser/);
  const res = await request(`${router.url}/d/len/3`, { headers: { host: "fb.default.example.com" } });
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), "aaa");
});
