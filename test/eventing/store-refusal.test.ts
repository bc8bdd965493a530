// What the Broker ingress tells a producer when the store did not take an event (store/refusal.ts).
import t from "tap";
import { StoreUnavailable, storeRefusal } from "../../eventing/store/refusal.ts";

t.test("each store error → reason, message and Retry-After", async (t) => {
  t.match(storeRefusal(new StoreUnavailable("127.0.0.1:4222")), {
    reason: "unavailable",
    message: "NATS at 127.0.0.1:4222 is unavailable (reconnecting)",
    retryAfterSeconds: 2,
  });
  const apiError = (err_code: number, description: string) =>
    Object.assign(new Error(description), { name: "JetStreamApiError", apiError: () => ({ err_code }) });
  t.match(storeRefusal(apiError(10023, "insufficient resources")), { reason: "full", retryAfterSeconds: 10 });
  t.match(storeRefusal(apiError(10078, "maximum bytes exceeded")), {
    reason: "full",
    message: /maximum number of bytes/,
  });
  t.match(storeRefusal(Object.assign(new Error("timeout"), { name: "TimeoutError" })), {
    reason: "timeout",
    message: "JetStream did not acknowledge it in time",
  });
  t.match(storeRefusal(Object.assign(new Error("no responders"), { name: "NoRespondersError" })), {
    reason: "unavailable",
    message: /with -js/,
  });
  t.match(storeRefusal(new Error("something else")), { reason: "unavailable", message: "something else" });
});
