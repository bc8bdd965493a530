import t from "tap";
import { ConcurrencyStats } from "../../common/concurrency-stats.ts";

t.test("time-weighted average over a window", async (t) => {
  const stats = new ConcurrencyStats(0);
  stats.arrive(0, false); // 1 request for the whole second
  stats.arrive(500, false); // a second one for the last half
  const read = stats.read(1000);
  t.equal(read.averageConcurrency, 1.5);
  t.equal(read.requestCount, 2);
  t.equal(read.windowSeconds, 1);
});

t.test("reading resets counts but keeps the current level", async (t) => {
  const stats = new ConcurrencyStats(0);
  stats.arrive(0, false);
  stats.read(1000);
  const second = stats.read(2000);
  t.equal(second.averageConcurrency, 1, "still one in flight");
  t.equal(second.requestCount, 0, "no new arrivals");
  stats.depart(2500, false);
  t.equal(stats.read(3000).averageConcurrency, 0.5);
  t.equal(stats.read(4000).averageConcurrency, 0);
});

t.test("proxied requests are tracked apart and within the total", async (t) => {
  const stats = new ConcurrencyStats(0);
  stats.arrive(0, true);
  stats.arrive(0, false);
  stats.depart(250, true);
  const read = stats.read(1000);
  t.equal(read.averageConcurrency, 1.25);
  t.equal(read.averageProxiedConcurrency, 0.25);
  t.equal(read.requestCount, 2);
  t.equal(read.proxiedRequestCount, 1);
});

t.test("a short request inside one window still counts", async (t) => {
  const stats = new ConcurrencyStats(0);
  stats.arrive(100, false);
  stats.depart(110, false);
  const read = stats.read(1000);
  t.equal(read.averageConcurrency, 0.01);
  t.equal(read.requestCount, 1);
  t.equal(stats.concurrency, 0);
});

t.test("an empty window reports the current level instead of dividing by zero", async (t) => {
  const stats = new ConcurrencyStats(0);
  stats.arrive(0, false);
  stats.read(1000);
  t.equal(stats.read(1000).averageConcurrency, 1);
});
