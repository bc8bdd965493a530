// The access log (QUEUE_ACCESS_LOG): one pino JSON line per request with the documented fields,
// and trace_id/span_id whenever the request belongs to a trace, here the caller's traceparent
// (tracing off in the queue-proxy); the hop's own 504 says why.
import t from "tap";
import { request } from "undici";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

interface Line {
  msg: string;
  component: string;
  method: string;
  url: string;
  status: number;
  ms: number;
  revision: string;
  reason?: string;
  trace_id?: string;
  span_id?: string;
}

t.test("access-log lines: fields, trace ids from the traceparent, the reason", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, {
    QUEUE_ACCESS_LOG: "true",
    LOG_LEVEL: "info", // the access log is info; tests default to warn
    REVISION_TIMEOUT_SECONDS: "1",
  });
  const lines = () =>
    qp
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => line.msg === "request");
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const spanId = "00f067aa0ba902b7";
  const traced = await request(`${qp.url}/?a=1`, { headers: { traceparent: `00-${traceId}-${spanId}-01` } });
  await traced.body.dump();
  const plain = await request(`${qp.url}/plain`);
  await plain.body.dump();
  const timedOut = await request(`${qp.url}/hold`, {
    headers: { traceparent: `00-${traceId}-${spanId}-00` },
  });
  await timedOut.body.dump();
  t.equal(timedOut.statusCode, 504);
  const [first, second, third] = await waitFor("three access-log lines", async () =>
    lines().length >= 3 ? lines() : undefined,
  );
  t.match(first, {
    component: "queue-proxy",
    method: "GET",
    url: "/?a=1",
    status: 200,
    ms: Number,
    revision: "test-00001",
    trace_id: traceId,
    span_id: spanId,
  });
  t.equal(first.reason, undefined, "no reason for the app's own 200");
  t.match(second, { url: "/plain", status: 200 });
  t.notOk("trace_id" in second || "span_id" in second, "no trace: no ids");
  t.match(third, {
    url: "/hold",
    status: 504,
    reason: "revision_timeout",
    trace_id: traceId,
    span_id: spanId,
  });
  await qp.settled();
});
