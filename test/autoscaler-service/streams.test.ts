// Long-lived responses are capped: state watches and log follows past their limits get a 503
// with the reason, and a freed slot can be taken again.
import t from "tap";
import { type Dispatcher, request } from "undici";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { waitFor } from "../helpers/processes.ts";

/** Opens a stream and returns its response once the headers are in (the body stays open). */
async function open(url: string): Promise<Dispatcher.ResponseData> {
  return request(url, { bodyTimeout: 0 });
}

t.test("state watches and log follows past their caps are refused", async (t) => {
  const autoscaler = await startAutoscaler(t, {
    AUTOSCALER_MAX_STATE_WATCHERS: "2",
    AUTOSCALER_MAX_LOG_FOLLOWERS: "1",
  });
  const watches = [
    await open(`${autoscaler.url}/v1/state?watch=1`),
    await open(`${autoscaler.url}/v1/state?watch=1`),
  ];
  t.same(
    watches.map((res) => res.statusCode),
    [200, 200],
  );
  const third = await request(`${autoscaler.url}/v1/state?watch=1`);
  t.equal(third.statusCode, 503, "a third watch");
  t.equal(third.headers["retry-after"], "5");
  t.match(
    await third.body.text(),
    /too many state watchers \(2, AUTOSCALER_MAX_STATE_WATCHERS\); retry later/,
  );
  const snapshot = await request(`${autoscaler.url}/v1/state`);
  t.equal(snapshot.statusCode, 200, "plain GET /v1/state is not capped");
  await snapshot.body.dump();

  const follow = await open(`${autoscaler.url}/v1/logs?follow=1`);
  t.equal(follow.statusCode, 200);
  const second = await request(`${autoscaler.url}/v1/logs?follow=1`);
  t.equal(second.statusCode, 503, "a second follower");
  t.match(await second.body.text(), /too many followers \(1, AUTOSCALER_MAX_LOG_FOLLOWERS\)/);
  const recent = await request(`${autoscaler.url}/v1/logs`);
  t.equal(recent.statusCode, 200, "logs without follow are not capped");
  await recent.body.dump();

  // Closing streams frees their slots.
  for (const res of [...watches, follow]) res.body.destroy();
  const watchAgain = await waitFor("a free watch slot", async () => {
    const res = await open(`${autoscaler.url}/v1/state?watch=1`);
    if (res.statusCode === 200) return res;
    await res.body.dump();
    return undefined;
  });
  watchAgain.body.destroy();
  const followAgain = await waitFor("a free follower slot", async () => {
    const res = await open(`${autoscaler.url}/v1/logs?follow=1`);
    if (res.statusCode === 200) return res;
    await res.body.dump();
    return undefined;
  });
  followAgain.body.destroy();
  t.pass("slots are given back");
});
