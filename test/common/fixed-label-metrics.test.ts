import { Registry } from "prom-client";
import t from "tap";
import {
  FixedLabelCounter,
  FixedLabelHistogram,
  StatusCodeCounter,
} from "../../common/fixed-label-metrics.ts";

t.test("renders as Prometheus text like prom-client's own metrics", async (t) => {
  const registry = new Registry();
  const labels = { revision: "r-1" };
  const counter = new FixedLabelCounter(registry, "c_total", "a counter", labels);
  const codes = new StatusCodeCounter(registry, "req_total", "by code", labels);
  const histogram = new FixedLabelHistogram(registry, "d_seconds", "durations", labels, [0.1, 1]);
  counter.inc();
  counter.inc();
  codes.inc(200);
  codes.inc(200);
  codes.inc(503);
  for (const value of [0.05, 0.1, 0.5, 5]) histogram.observe(value);
  const text = await registry.metrics();
  t.match(text, /# TYPE c_total counter\nc_total\{revision="r-1"\} 2/);
  t.match(text, /req_total\{revision="r-1",code="200"\} 2/);
  t.match(text, /req_total\{revision="r-1",code="503"\} 1/);
  t.match(text, /# TYPE d_seconds histogram/);
  t.match(text, /d_seconds_bucket\{revision="r-1",le="0.1"\} 2/, "le is inclusive and cumulative");
  t.match(text, /d_seconds_bucket\{revision="r-1",le="1"\} 3/);
  t.match(text, /d_seconds_bucket\{revision="r-1",le="\+Inf"\} 4/);
  t.match(text, /d_seconds_sum\{revision="r-1"\} 5.65/);
  t.match(text, /d_seconds_count\{revision="r-1"\} 4/);
});
