import t from "tap";
import { PodBalancer, type PodSlot } from "../../router/pod-balancer.ts";

t.test("least outstanding requests, per request", async (t) => {
  const balancer = new PodBalancer(0);
  balancer.setPods(["a", "b", "c"]);
  const held = Array.from({ length: 9 }, () => balancer.acquire() as PodSlot);
  const counts = new Map<string, number>();
  for (const slot of held) counts.set(slot.url, (counts.get(slot.url) ?? 0) + 1);
  t.same(Object.fromEntries(counts), { a: 3, b: 3, c: 3 }, "evenly spread while all stay in flight");
  const a = held.find((slot) => slot.url === "a") as PodSlot;
  balancer.release(a);
  balancer.release(a);
  t.equal(balancer.acquire()?.url, "a", "the pod with the fewest in flight gets the next request");
});

t.test("never more than containerConcurrency in flight to a pod", async (t) => {
  const balancer = new PodBalancer(2);
  balancer.setPods(["a", "b"]);
  const slots = [balancer.acquire(), balancer.acquire(), balancer.acquire(), balancer.acquire()];
  t.ok(slots.every(Boolean), "4 slots for 2 pods × 2");
  t.equal(balancer.acquire(), undefined, "full: the caller sends the request to the activator");
  balancer.release(slots[0] as PodSlot);
  t.equal(balancer.acquire()?.url, slots[0]?.url, "a released slot is usable again");
});

t.test("equally loaded pods take turns", async (t) => {
  const balancer = new PodBalancer(0);
  balancer.setPods(["a", "b", "c"]);
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    const slot = balancer.acquire() as PodSlot;
    order.push(slot.url);
    balancer.release(slot);
  }
  t.same(new Set(order), new Set(["a", "b", "c"]), "every pod used with sequential requests");
});

t.test("pods that stay keep their counts across updates; many pods use two random choices", async (t) => {
  const balancer = new PodBalancer(1);
  balancer.setPods(["a"]);
  const slot = balancer.acquire() as PodSlot;
  balancer.setPods(["a", "b"]);
  t.equal(balancer.acquire()?.url, "b", "a is still full after the update");
  t.equal(balancer.acquire(), undefined);
  balancer.release(slot);
  const many = new PodBalancer(1);
  many.setPods(Array.from({ length: 100 }, (_, i) => `pod-${i}`));
  const urls = new Set(Array.from({ length: 100 }, () => many.acquire()?.url));
  t.equal(urls.size, 100, "100 pods with containerConcurrency 1 take exactly one request each");
  t.equal(many.acquire(), undefined);
});
