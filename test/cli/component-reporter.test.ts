// The reporter of `sluice up` against a stand-in autoscaler: changes made together go out as one
// push with the latest report, a push the autoscaler cannot take is tried again, and a closed
// reporter sends nothing.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { ComponentReporter } from "../../cli/up/component-reporter.ts";
import type { ComponentStatus } from "../../common/status.ts";
import { waitFor } from "../helpers/processes.ts";

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: { components: ComponentStatus[] };
}

/** A stand-in autoscaler that answers each push with the next of `statuses` (then 200). */
async function standIn(t: { teardown(fn: () => unknown): void }, statuses: number[] = []) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    received.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: JSON.parse(text),
    });
    res.writeHead(statuses.shift() ?? 200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const component = (restarts: number): ComponentStatus => ({
  name: "router",
  state: "running",
  ports: {},
  restarts,
  startedAt: new Date(0).toISOString(),
});

t.test("changes together go out as one push of the latest report", async (t) => {
  const autoscaler = await standIn(t);
  let restarts = 0;
  const reporter = new ComponentReporter({
    autoscalerUrl: autoscaler.url,
    components: () => [component(restarts)],
    headers: { authorization: "Bearer x" },
  });
  t.teardown(() => reporter.close());
  for (restarts = 1; restarts <= 3; restarts++) reporter.changed();
  restarts = 3;
  await waitFor("a push", () => autoscaler.received.length === 1);
  const [push] = autoscaler.received;
  t.match(push, {
    method: "PUT",
    url: "/v1/components",
    headers: { "content-type": "application/json", authorization: "Bearer x" },
    body: { components: [{ name: "router", restarts: 3 }] },
  });
  reporter.changed();
  await waitFor("the next change's push", () => autoscaler.received.length === 2);
});

t.test("a push the autoscaler cannot take is tried again; a refused one is not", async (t) => {
  const autoscaler = await standIn(t, [503, 400]);
  const reporter = new ComponentReporter({
    autoscalerUrl: autoscaler.url,
    components: () => [component(1)],
    retryMs: 10,
  });
  t.teardown(() => reporter.close());
  reporter.changed();
  await waitFor("the retry after a 503", () => autoscaler.received.length === 2);
  // The 400 ends it: a change is what brings the next push.
  reporter.changed();
  await waitFor("the next change's push", () => autoscaler.received.length === 3);
});

t.test("an unreachable autoscaler is retried quietly, and closing stops it", async (t) => {
  const autoscaler = await standIn(t);
  let asked = 0;
  const reporter = new ComponentReporter({
    autoscalerUrl: "http://127.0.0.1:1",
    components: () => {
      asked++;
      return [component(0)];
    },
    retryMs: 10,
  });
  reporter.changed();
  await waitFor("a few tries", () => asked >= 3);
  reporter.close();
  const closed = new ComponentReporter({ autoscalerUrl: autoscaler.url, components: () => [] });
  closed.close();
  closed.changed();
  // Its first push would have gone out within 100 ms; a later push from an open reporter
  // arriving alone shows that none did.
  const open = new ComponentReporter({
    autoscalerUrl: autoscaler.url,
    components: () => [component(9)],
    coalesceMs: 150,
  });
  t.teardown(() => open.close());
  open.changed();
  await waitFor("the open reporter's push", () => autoscaler.received.length === 1);
  t.same(autoscaler.received[0].body.components, [component(9)], "only the open reporter pushed");
});
