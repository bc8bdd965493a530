// Eventing on the autoscaler's GET /v1/status and its status page: `sluice up` (with SLUICE_TOKEN,
// so the autoscaler's read of eventing carries it) runs a Broker and a Trigger; /v1/status and
// the page, live in Chromium, show the Broker's address and the Trigger's counts move once an
// event is delivered; `sluice apply` of a PingSource prints created / unchanged / configured and
// the page's Sources table counts its ticks. An autoscaler told of no eventing has no `eventing`
// key; one told of an eventing that is not there says so, naming the URL.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent, HTTP } from "cloudevents";
import t from "tap";
import type { StatusSnapshot } from "../../common/status.ts";
import { startRecorder } from "../eventing/event-recorder.ts";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { newPage, skipWithoutChromium } from "../helpers/browser.ts";
import { skipUnlessNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { launchSluiceUp } from "../helpers/sluice-up.ts";
import { tempPath } from "../helpers/temp.ts";

const TOKEN = "eventing-page-secret-0123456789";

t.test("GET /v1/status without eventing, and with an eventing that is not there", async (t) => {
  const alone = await startAutoscaler(t);
  t.notOk("eventing" in (await alone.status()), "no SLUICE_EVENTING_ADMIN_URL: no eventing key");

  const closed = await refusedPort(t);
  const missing = await startAutoscaler(t, { SLUICE_EVENTING_ADMIN_URL: `http://127.0.0.1:${closed}/` });
  const status = await missing.status();
  t.match(status.eventing, {
    adminUrl: `http://127.0.0.1:${closed}`,
    error: `eventing at http://127.0.0.1:${closed}/v1/eventing: unreachable (ECONNREFUSED)`,
    brokers: [],
    triggers: [],
    sources: [],
  });
  t.ok(status.services, "the rest of the status is there");
});

t.test(
  "sluice up: Brokers, Triggers and sources in /v1/status and on the page",
  { skip: skipUnlessNats() || skipWithoutChromium },
  async (t) => {
    const recorder = await startRecorder(t);
    const { banner } = await launchSluiceUp(
      t,
      [
        `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: orders }
spec:
  broker: default
  filters: [{ prefix: { type: order. } }]
  subscriber: { uri: "${recorder.url}/orders" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: pings }
spec:
  broker: default
  filter: { attributes: { type: dev.knative.sources.ping } }
  subscriber: { uri: "${recorder.url}/pings" }
`,
      ],
      { SLUICE_TOKEN: TOKEN },
      { flags: ["--eventing-port", "0"], prefix: "sluice-status-eventing-" },
    );
    const autoscalerUrl = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
    const brokerUrl = /broker\s+(http:\/\/127\.0\.0\.1:\d+\/default\/default)/.exec(banner)?.[1] as string;
    t.ok(brokerUrl, "the banner gives the Broker's address");
    const auth = { authorization: `Bearer ${TOKEN}` };
    const status = async () =>
      (await (await fetch(`${autoscalerUrl}/v1/status`, { headers: auth })).json()) as StatusSnapshot;
    const trigger = (snapshot: StatusSnapshot, name: string) =>
      snapshot.eventing?.triggers.find((x) => x.name === name);

    const first = await status();
    t.notOk(
      first.eventing?.error,
      first.eventing?.error ?? "eventing answered the autoscaler (with the token)",
    );
    t.same(
      first.eventing?.brokers,
      [{ namespace: "default", name: "default", address: { url: brokerUrl } }],
      "the Broker's address (status.address.url) in /v1/status",
    );
    t.match(trigger(first, "orders"), {
      broker: "default",
      subscriber: `${recorder.url}/orders`,
      counts: { accepted: 0, delivered: 0, retried: 0, deadLettered: 0 },
    });

    const page = await newPage(t);
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${(error as Error).message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    await page.goto(`${autoscalerUrl}/#token=${TOKEN}`, { waitUntil: "load" });
    await page.waitForSelector('#eventing:not([hidden]) tr[data-trigger="default/orders"]', {
      timeout: 15_000,
    });
    const cells = (selector: string) =>
      page.$eval(selector, (tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? ""));
    t.same(
      await cells('tr[data-broker="default/default"]'),
      ["default", brokerUrl],
      "the page lists the Broker and its address",
    );
    t.same(
      await cells('tr[data-trigger="default/orders"]'),
      ["orders", "default", `${recorder.url}/orders`, "0", "0", "0", "0"],
      "and the Trigger with its counts",
    );
    t.equal(await page.$eval("#sources", (el) => (el as HTMLElement).hidden), true, "no sources yet");

    // An event delivered: the counts move in /v1/status and, without a reload, on the page.
    const message = HTTP.binary(
      new CloudEvent({ id: "o-1", source: "/shop", type: "order.placed", data: {} }),
    );
    const res = await fetch(brokerUrl, {
      method: "POST",
      headers: message.headers as Record<string, string>,
      body: String(message.body ?? ""),
    });
    t.equal(res.status, 202);
    await waitFor("the event at the subscriber", () => recorder.ids("/orders").has("o-1"), {
      timeoutMs: 15_000,
    });
    const after = await waitFor("the delivery counted in /v1/status", async () => {
      const counts = trigger(await status(), "orders")?.counts;
      return counts?.delivered === 1 ? counts : undefined;
    });
    t.match(after, { accepted: 1, delivered: 1, retried: 0, deadLettered: 0 });
    await page.waitForFunction(
      () =>
        [...(document.querySelector('tr[data-trigger="default/orders"]')?.querySelectorAll("td") ?? [])]
          .map((td) => td.textContent)
          .slice(3)
          .join(",") === "1,1,0,0",
      { timeout: 10_000 },
    );
    t.pass("the page shows accepted 1, delivered 1");

    // A PingSource applied with `sluice apply`: its line, then on the page with its ticks.
    const pingFile = tempPath(t, "ping.yaml", "sluice-status-eventing-apply-");
    const writePing = (data: string) =>
      writeFileSync(
        pingFile,
        `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: heartbeat }
spec:
  schedule: "* * * * * *"
  data: "${data}"
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
      );
    const apply = () =>
      sluice(["apply", "--autoscaler", autoscalerUrl, "-f", pingFile], { env: { SLUICE_TOKEN: TOKEN } });
    writePing("one");
    const created = await apply();
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, /^PingSource default\/heartbeat: created$/m);
    const unchanged = await apply();
    t.match(unchanged.stdout, /^PingSource default\/heartbeat: unchanged$/m);
    writePing("two");
    const configured = await apply();
    t.match(configured.stdout, /^PingSource default\/heartbeat: configured$/m);
    await waitFor("ticks of the changed PingSource through the Broker", () =>
      recorder.at("/pings").some((e) => e.body === "two"),
    );
    await page.waitForFunction(
      () => {
        const row = document.querySelector('tr[data-source="PingSource default/heartbeat"]');
        const delivered = Number(row?.querySelectorAll("td")[3]?.textContent ?? 0);
        return !document.getElementById("sources")?.hidden && delivered >= 1;
      },
      { timeout: 15_000 },
    );
    const row = await cells('tr[data-source="PingSource default/heartbeat"]');
    t.match(
      row,
      ["heartbeat", "PingSource", "Broker default/default", /^\d+$/, "0", "0"],
      "the Sources table",
    );
    t.match(
      await cells('tr[data-trigger="default/pings"]'),
      ["pings", "default", `${recorder.url}/pings`, /^[1-9]\d*$/, /^[1-9]\d*$/, "0", "0"],
      "and the ticks counted on the Trigger",
    );
    const cli = await sluice(["status", "--autoscaler", autoscalerUrl], { env: { SLUICE_TOKEN: TOKEN } });
    t.equal(cli.code, 0, cli.stderr);
    t.match(
      cli.stdout,
      /^heartbeat\s+PingSource\s+Broker default\/default\s+\d+\s+0\s+0$/m,
      "sluice status lists it",
    );
    t.same(problems, [], "no page errors");
    const screenshot = join(mkdtempSync(join(tmpdir(), "sluice-status-page-")), "eventing.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    t.comment(`screenshot: ${screenshot}`);
  },
);
