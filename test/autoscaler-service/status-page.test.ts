// The status page in a real headless Chromium (puppeteer-core), against a real autoscaler.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import t from "tap";
import { request } from "undici";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { launchChromium, newPage, skipWithoutChromium, watchPage } from "../helpers/browser.ts";
import { waitFor } from "../helpers/processes.ts";

/** How many polls the page has drawn for a revision (app.js keeps it in data-points). */
function points(page: Page, revision: string): Promise<number> {
  return page.$eval(`[data-revision="${revision}"]`, (el) => Number((el as HTMLElement).dataset.points));
}

t.test("the status page, live in a browser", { skip: skipWithoutChromium }, async (t) => {
  const autoscaler = await startAutoscaler(t);

  // Every file with its content type, straight from the server.
  for (const [path, type] of [
    ["/", /^text\/html/],
    ["/status-page/app.js", /^text\/javascript/],
    ["/status-page/style.css", /^text\/css/],
    ["/status-page/uPlot.iife.min.js", /^text\/javascript/],
    ["/status-page/uPlot.min.css", /^text\/css/],
  ] as const) {
    const res = await request(`${autoscaler.url}${path}`);
    await res.body.dump();
    t.equal(res.statusCode, 200, `${path} is served`);
    t.match(res.headers["content-type"], type, `${path} has its content type`);
  }

  const page = await newPage(t);
  const { problems, foreign } = watchPage(page, new URL(autoscaler.url).origin);

  // No services yet: the page says how to add one.
  await page.goto(`${autoscaler.url}/`, { waitUntil: "load" });
  await page.waitForFunction(() => !document.getElementById("empty")?.hidden, { timeout: 10_000 });
  t.match(await page.$eval("#empty", (el) => el.textContent ?? ""), /no services yet — sluice apply -f/);

  // A service appears while the page is open: its split and charts render without a reload.
  await autoscaler.apply(
    appService("hello", {
      containerConcurrency: 10,
      annotations: ['autoscaling.knative.dev/min-scale: "1"'],
    }),
  );
  const revision = '[data-service="default/hello"] [data-revision="hello-00001"]';
  await page.waitForSelector(`${revision} canvas`, { timeout: 15_000 });
  t.equal(
    await page.$eval("#empty", (el) => (el as HTMLElement).hidden),
    true,
    "the empty message goes away",
  );
  t.match(
    await page.$eval('[data-service="default/hello"] .split-bar', (el) => el.textContent ?? ""),
    /hello-00001 100%/,
    "the traffic split shows",
  );
  const charts = await page.$$eval(`${revision} .chart`, (els) =>
    els.map((el) => ({
      title: el.querySelector(".u-title")?.textContent ?? "",
      canvases: el.querySelectorAll("canvas").length,
      legends: el.querySelectorAll(".u-legend").length,
    })),
  );
  t.same(
    charts.map((chart) => chart.title),
    ["pods", "concurrency", "requests/s"],
    "three charts per revision",
  );
  t.ok(
    charts.every((chart) => chart.canvases > 0 && chart.legends === 1),
    "each chart has a canvas and a legend",
  );

  // Live: the pod becomes ready, two requests are held in it, and the page follows poll by poll.
  await page.waitForFunction(
    (selector) => /pods 1\/1 ready/.test(document.querySelector(selector)?.textContent ?? ""),
    { timeout: 15_000 },
    revision,
  );
  const pod = (await autoscaler.state()).revisions["default/hello-00001"].endpoints[0].url;
  const held = Array.from({ length: 2 }, () => request(`${pod}/hold`));
  await waitFor(
    "the held requests in /v1/status",
    async () => (await autoscaler.status()).services[0].revisions[0].concurrency.current > 1.99,
  );
  const before = await points(page, "hello-00001");
  await waitFor("two more polls drawn", async () => (await points(page, "hello-00001")) >= before + 2);
  t.match(
    await page.$eval(`${revision} .revision-head`, (el) => el.textContent ?? ""),
    /pods 1\/1 ready · concurrency [0-9.]+ · [0-9.]+ req\/s · containerConcurrency 10/,
    "the revision's numbers",
  );

  // An autoscaler run alone has no components; once `sluice up` reports them, they show.
  t.equal(
    await page.$eval("#components", (el) => (el as HTMLElement).hidden),
    true,
    "no Components section while nobody reported",
  );
  const report = await request(`${autoscaler.url}/v1/components`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      components: [
        {
          name: "autoscaler",
          state: "running",
          pid: 4242,
          ports: { port: 8090 },
          restarts: 1,
          startedAt: "2025-01-01T15:03:05.000Z",
          lastExit: {
            code: "SIGKILL",
            at: "2025-01-01T15:03:04.000Z",
            ranForMs: 61_000,
            lastLines: ["autoscaler listening"],
          },
        },
        {
          name: "router",
          state: "restarting",
          ports: { port: 8080 },
          restarts: 2,
          startedAt: "2025-01-01T15:00:00.000Z",
        },
      ],
    }),
  });
  t.equal(report.statusCode, 200, await report.body.text());
  await page.waitForSelector('#components:not([hidden]) tr[data-component="router"]', { timeout: 10_000 });
  const rows = await page.$$eval("#component-rows tr", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
  );
  t.match(
    rows,
    [
      ["autoscaler", "running", "4242", "1", /^SIGKILL at .+, ran 1 min 1 s$/],
      ["router", "restarting", "–", "2", "–"],
    ],
    "a row per component: name, state, pid, restarts, last exit",
  );
  t.equal(
    await page.$eval("#components", (el) => getComputedStyle(el).display),
    "grid",
    "the section is laid out (not hidden by its own display)",
  );

  const screenshot = join(mkdtempSync(join(tmpdir(), "sluice-status-page-")), "status-page.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  t.comment(`status page screenshot: ${screenshot}`);

  const released = Promise.all(held);
  await (await request(`${pod}/_release`)).body.text();
  t.same(
    (await released).map((res) => res.statusCode),
    [200, 200],
    "held requests released",
  );
  t.same(problems, [], "no console errors, page errors or failed requests");
  t.same(foreign, [], "every request goes to the autoscaler");
});

t.test(
  "with SLUICE_TOKEN, the page takes the token from /#token= and says so without it",
  { skip: skipWithoutChromium },
  async (t) => {
    const autoscaler = await startAutoscaler(t, { SLUICE_TOKEN: "page-secret-0123456789" });
    const browser = await launchChromium(t);

    // Without the token the files load (they hold no data) and the banner says what is missing.
    const anonymous = await browser.newPage();
    await anonymous.goto(`${autoscaler.url}/`, { waitUntil: "load" });
    await anonymous.waitForFunction(() => !document.getElementById("banner")?.hidden, { timeout: 10_000 });
    t.match(
      await anonymous.$eval("#banner", (el) => el.textContent ?? ""),
      /needs its token: open this page as \/#token=/,
    );
    await anonymous.close();

    const page = await browser.newPage();
    const { problems, foreign } = watchPage(page, new URL(autoscaler.url).origin);
    await page.goto(`${autoscaler.url}/#token=page-secret-0123456789`, { waitUntil: "load" });
    await page.waitForFunction(() => !document.getElementById("empty")?.hidden, { timeout: 10_000 });
    t.equal(await page.evaluate(() => location.hash), "", "the token leaves the address bar");
    await autoscaler.apply(
      appService("hello", { annotations: ['autoscaling.knative.dev/initial-scale: "0"'] }),
    );
    await page.waitForSelector('[data-service="default/hello"] [data-revision="hello-00001"] canvas', {
      timeout: 15_000,
    });
    // A reload keeps working: the token stays for the tab's session.
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector('[data-service="default/hello"]', { timeout: 10_000 });
    t.equal(await page.$eval("#banner", (el) => (el as HTMLElement).hidden), true, "no banner");
    t.same(problems, [], "no console errors, page errors or failed requests");
    t.same(foreign, [], "every request goes to the autoscaler");
  },
);

t.test(
  "pods waiting for room on the machine show as pending, in the numbers and the pods chart",
  { skip: skipWithoutChromium },
  async (t) => {
    // Room for one pod: of two services kept at one pod each, one waits.
    const autoscaler = await startAutoscaler(t, {
      SLUICE_LOCAL_MAX_PODS: "1",
      SLUICE_LOCAL_MAX_STARTING: "1",
    });
    const page = await newPage(t);
    const { problems } = watchPage(page, new URL(autoscaler.url).origin);
    await page.goto(`${autoscaler.url}/`, { waitUntil: "load" });
    const kept = ['autoscaling.knative.dev/min-scale: "1"'];
    await autoscaler.apply(
      `${appService("first", { annotations: kept })}---\n${appService("second", { annotations: kept })}`,
    );
    const waiting = await waitFor("a revision with a pending pod in /v1/status", async () =>
      (await autoscaler.status()).services
        .flatMap((service) => service.revisions)
        .find((revision) => revision.pendingPods === 1),
    );
    const revision = `[data-revision="${waiting.name}"]`;
    await page.waitForFunction(
      (selector) =>
        /· 1 pending ·/.test(document.querySelector(`${selector} .revision-head`)?.textContent ?? ""),
      { timeout: 15_000 },
      revision,
    );
    t.match(
      await page.$eval(`${revision} .revision-head`, (el) => el.textContent ?? ""),
      /pods 0\/1 ready · 1 pending · concurrency/,
      "the numbers say it",
    );

    // The pods chart's last point, read from its legend with the cursor at the right edge.
    const pods = `${revision} .chart:first-child`;
    const over = await page.$(`${pods} .u-over`);
    const box = await over?.boundingBox();
    if (!box) throw new Error("the pods chart has no plot area");
    await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
    const legend = await page.$$eval(`${pods} .u-legend .u-series`, (rows) =>
      rows.map((row) => [
        row.querySelector(".u-label")?.textContent ?? "",
        row.querySelector(".u-value")?.textContent ?? "",
      ]),
    );
    t.match(legend, [[], ["ready", "0"], ["desired", "1"], ["pending", "1"]], "the pods chart draws it");
    t.match(
      (await autoscaler.status()).capacity,
      { maxPods: 1, maxStarting: 1, pods: 1, pending: 1 },
      "GET /v1/status has the room and its use",
    );
    await page.waitForFunction(
      () =>
        document.getElementById("capacity")?.textContent ===
        "capacity: 1 of 1 pods, 1 pending; 1 start at once",
      { timeout: 10_000 },
    );
    t.equal(await page.$eval("#capacity", (el) => (el as HTMLElement).hidden), false, "the header shows it");
    t.same(problems, [], "no console errors, page errors or failed requests");
  },
);
