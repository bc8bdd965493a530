import t from "tap";
import { rawVsNode, rssText, withRatios } from "../../../bench/lib/report.ts";
import { measurement } from "../measurement.ts";

t.test("withRatios: CPU to nginx's at the same client count, p99 over the app's own", async (t) => {
  const rows = withRatios([
    measurement({ target: "direct", ownCpu: 12, pathCpu: 12, p99Ms: 0.5 }),
    measurement({ target: "nginx", ownCpu: 15, pathCpu: 15, p99Ms: 0.9 }),
    measurement({
      target: "router→qp [raw]",
      family: "serve",
      path: "raw",
      ownCpu: 20,
      pathCpu: 45,
      p99Ms: 1.7,
    }),
    measurement({ target: "nginx", connections: 64, ownCpu: 10, pathCpu: 10, p99Ms: 3 }),
    measurement({ target: "router→qp [raw]", connections: 64, ownCpu: 18, pathCpu: 30, p99Ms: 8 }),
  ]);
  const [direct, nginx, serve8, , serve64] = rows;
  t.ok(Number.isNaN(direct.ownXNginx) && Number.isNaN(direct.addedP99Ms), "direct has no ratio");
  t.equal(nginx.pathXNginx, 1);
  t.equal(serve8.ownXNginx, 20 / 15);
  t.equal(serve8.pathXNginx, 3);
  t.equal(serve8.addedP99Ms, 1.7 - 0.5);
  t.equal(serve64.pathXNginx, 3, "against the 64-connection nginx, not the 8");
  t.ok(Number.isNaN(serve64.addedP99Ms), "no direct at 64: no added p99");
});

t.test("withRatios without nginx in the run: no ratio rather than a wrong one", async (t) => {
  const [row] = withRatios([measurement({ target: "queue-proxy [node]", pathCpu: 30 })]);
  t.ok(Number.isNaN(row.pathXNginx));
});

t.test("rssText: every process on the path", async (t) => {
  t.equal(
    rssText({ router: 71.4, activator: 80, "queue-proxy": 62.6 }),
    "router 71 + activator 80 + queue-proxy 63",
  );
});

t.test("rawVsNode: each family on both paths, raw over node at the same client count", async (t) => {
  const rows = withRatios([
    measurement({ target: "nginx", pathCpu: 10 }),
    measurement({ target: "router→qp [node]", family: "serve", path: "node", pathCpu: 80, p99Ms: 4 }),
    measurement({ target: "router→qp [raw]", family: "serve", path: "raw", pathCpu: 40, p99Ms: 2 }),
    measurement({ target: "router [node]", family: "router", path: "node", connections: 64, pathCpu: 30 }),
    measurement({ target: "router [raw]", family: "router", path: "raw", connections: 8, pathCpu: 15 }),
  ]);
  t.same(
    rawVsNode(rows),
    [{ family: "serve", connections: 8, cpu: 0.5, requestsPerSecond: 1, p99: 0.5 }],
    "the router's rows are at different client counts: no comparison",
  );
});
