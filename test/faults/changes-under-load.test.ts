// Changes while a steady load runs through `sluice up`: a traffic split moved from one revision to
// another, a new revision's gradual rollout, and a revision scaled from 5 pods to 0 as its load
// drains. Not one request may fail.
import t from "tap";
import { describe, figures, type Outcome, startLoad } from "../helpers/load.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { revisionOf, startSluiceUp } from "../helpers/sluice-up.ts";

const APP = `["${process.execPath}", "${ROOT}test/fixtures/app.ts"]`;

/** A Service running the test app, with a pinned revision name when given. */
function service(
  name: string,
  {
    revision = undefined as string | undefined,
    version = "v1",
    annotations = [] as string[],
    serviceAnnotations = [] as string[],
    cc = 10,
    traffic = "",
  } = {},
): string {
  const indent = (lines: string[], by: string) => lines.map((line) => `\n${by}${line}`).join("");
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}${serviceAnnotations.length > 0 ? `\n  annotations:${indent(serviceAnnotations, "    ")}` : ""}
spec:
  template:
    metadata:${revision ? `\n      name: ${revision}` : ""}
      annotations:
        autoscaling.knative.dev/window: "6s"${indent(annotations, "        ")}
    spec:
      containerConcurrency: ${cc}
      containers:
        - command: ${APP}
          env:
            - name: VERSION
              value: "${version}"
${traffic}`;
}

const warm = ['autoscaling.knative.dev/min-scale: "1"', 'autoscaling.knative.dev/initial-scale: "1"'];
const splitTraffic = (first: number) => `  traffic:
    - revisionName: split-00001
      percent: ${first}
    - revisionName: split-00002
      percent: ${100 - first}
`;
const SPLIT_V1 = service("split", { revision: "split-00001", annotations: warm });
const SPLIT_BOTH = (first: number) =>
  service("split", {
    revision: "split-00002",
    version: "v2",
    annotations: warm,
    traffic: splitTraffic(first),
  });
const ROLL = (version: string) =>
  service("roll", {
    version,
    annotations: warm,
    serviceAnnotations: ['serving.knative.dev/rollout-duration: "3s"'],
  });
const DRAIN = service("drain", {
  annotations: [
    'autoscaling.knative.dev/initial-scale: "5"',
    'autoscaling.knative.dev/min-scale: "0"',
    'autoscaling.knative.dev/max-scale: "5"',
  ],
});

const failuresOf = (outcomes: Outcome[]) =>
  outcomes
    .filter((o) => o.status !== 200)
    .slice(0, 5)
    .map((o) => `${o.error ?? o.status} at ${Math.round(o.start)} ms: ${o.body.trim()}`);

t.test("traffic split, rollout and scale to zero under load: no request fails", async (t) => {
  const up = await startSluiceUp(t, [SPLIT_V1, SPLIT_BOTH(100), ROLL("v1")]);
  const host = (name: string) => `${name}.default.example.com`;

  t.test("a traffic split moved from one revision to the other", async (t) => {
    await up.waitForEndpoints("split-00001", 1);
    await up.waitForEndpoints("split-00002", 1);
    const load = startLoad({ url: up.routerUrl, host: host("split"), path: "/sleep?ms=5", concurrency: 6 });
    await waitFor("100 answers from split-00001", () => load.outcomes.length >= 100, { timeoutMs: 20_000 });
    const switchedAt = load.now();
    await up.apply(SPLIT_BOTH(0));
    await waitFor(
      "200 answers in a row from split-00002",
      () => {
        const last = load.outcomes.slice(-200);
        return (
          last.length === 200 && last.every((o) => o.revision === "split-00002") && last[0].start > switchedAt
        );
      },
      { timeoutMs: 20_000 },
    );
    const outcomes = await load.stop();
    const f = figures(outcomes);
    t.comment(describe("split 100/0 → 0/100", f));
    t.equal(f.failed, 0, "no request failed", { failures: failuresOf(outcomes) });
    t.ok(
      outcomes.filter((o) => o.end < switchedAt).every((o) => o.revision === "split-00001"),
      "before the change, split-00001 answered",
    );
  });

  t.test("a new revision rolled out gradually", async (t) => {
    await up.waitForEndpoints("roll-00001", 1);
    const load = startLoad({ url: up.routerUrl, host: host("roll"), path: "/sleep?ms=5", concurrency: 6 });
    await waitFor("100 answers from roll-00001", () => load.outcomes.length >= 100, { timeoutMs: 20_000 });
    const appliedAt = load.now();
    await up.apply(ROLL("v2"));
    await waitFor(
      "the rollout to finish: 100 % to roll-00002 and 200 answers in a row from it",
      async () => {
        const traffic = (await up.state()).services["default/roll"]?.traffic ?? [];
        const last = load.outcomes.slice(-200);
        return (
          traffic.length === 1 &&
          traffic[0].revision === "roll-00002" &&
          last.length === 200 &&
          last.every((o) => o.revision === "roll-00002")
        );
      },
      { timeoutMs: 30_000 },
    );
    const outcomes = await load.stop();
    const f = figures(outcomes);
    const after = outcomes.filter((o) => o.start > appliedAt);
    const firstNew = after.findIndex((o) => o.revision === "roll-00002");
    const lastOld = after.findLastIndex((o) => o.revision === "roll-00001");
    const mixed = after.slice(firstNew, lastOld + 1);
    const share =
      mixed.length > 0 ? mixed.filter((o) => o.revision === "roll-00002").length / mixed.length : 0;
    t.comment(
      describe(
        "rollout over 3 s",
        f,
        `${mixed.length} requests split between the two, ${Math.round(share * 100)} % new`,
      ),
    );
    t.equal(f.failed, 0, "no request failed", { failures: failuresOf(outcomes) });
    t.ok(firstNew >= 0 && lastOld > firstNew, "old and new answered side by side: the shift was gradual");
  });

  t.test("5 pods scale to 0 as the load drains", async (t) => {
    // Starts at 5 pods (initial-scale) under a load that needs one: once the 5 are ready, the
    // autoscaler scales down while requests run (its log says "from=5").
    await up.apply(DRAIN);
    await up.routerCaughtUp();
    const load = startLoad({ url: up.routerUrl, host: host("drain"), path: "/sleep?ms=20", concurrency: 3 });
    await waitFor(
      "drain-00001 scaled down from 5",
      () => /revision=drain-00001 from=5 to=/.test(up.output()),
      {
        timeoutMs: 30_000,
      },
    );
    await up.waitForEndpoints("drain-00001", 1, 30_000);
    load.setConcurrency(1);
    await waitFor("50 more answers from one pod", () => load.outcomes.length >= 50, { timeoutMs: 20_000 });
    const outcomes = await load.stop();
    await waitFor(
      "drain-00001 at zero pods",
      async () => {
        const revision = revisionOf(await up.state(), "drain-00001");
        return revision?.desiredPods === 0 && revision.endpoints.length === 0;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
    // And from zero again: a burst through the activator while a pod starts.
    const wake = startLoad({ url: up.routerUrl, host: host("drain"), concurrency: 5, maxRequests: 20 });
    await waitFor("20 answers from zero", () => wake.outcomes.length >= 20, { timeoutMs: 30_000 });
    const woken = await wake.stop();
    const f = figures([...outcomes, ...woken]);
    t.comment(describe("scale 5 → 1 under load, → 0 drained, 0 → 1 on a burst", f));
    t.equal(f.failed, 0, "no request failed", { failures: failuresOf([...outcomes, ...woken]) });
  });
});
