import { rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { leaseExpired, leaseRenewedAt, renewEveryMs, renewLease } from "../../platform/local/lease.ts";
import { tempDir } from "../helpers/temp.ts";

t.test("a lease lapses when missing or older than the grace", async (t) => {
  t.ok(leaseExpired(undefined, 1000, 60_000), "no lease file: nobody wants the pod");
  t.notOk(leaseExpired(1000, 61_000, 60_000), "at the grace: still held");
  t.ok(leaseExpired(1000, 61_001, 60_000));
});

t.test("renewals come several times within the grace", async (t) => {
  t.equal(renewEveryMs(60_000), 1000);
  t.equal(renewEveryMs(1000), 250);
  t.ok(renewEveryMs(1) >= 50, "bounded below");
});

t.test("renewLease creates and refreshes the file; it fails quietly when the dir is gone", async (t) => {
  const dir = tempDir(t, "sluice-lease-");
  const path = join(dir, "lease");
  t.equal(leaseRenewedAt(path), undefined);
  t.ok(renewLease(path));
  utimesSync(path, new Date(0), new Date(0));
  t.equal(leaseRenewedAt(path), 0);
  t.ok(renewLease(path));
  t.ok((leaseRenewedAt(path) ?? 0) > 0, "refreshed");
  rmSync(dir, { recursive: true, force: true });
  t.notOk(renewLease(path));
});
