import t from "tap";
import { loadConfig } from "../../autoscaler/config.ts";
import { ConfigError } from "../../common/env.ts";

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
};

t.test("defaults: loopback, no token, caps", async (t) => {
  const config = loadConfig({});
  t.equal(config.bindAddress, "127.0.0.1");
  t.equal(config.token, undefined);
  t.same(config.allowedHosts, []);
  t.equal(config.maxStateWatchers, 256);
  t.equal(config.maxLogFollowers, 32);
});

t.test("off loopback needs SLUICE_TOKEN", async (t) => {
  for (const address of ["0.0.0.0", "::", "10.0.0.4"])
    t.match(
      problems({ AUTOSCALER_BIND_ADDRESS: address }),
      [/listens off loopback: set SLUICE_TOKEN/],
      address,
    );
  for (const address of ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
    t.same(problems({ AUTOSCALER_BIND_ADDRESS: address }), [], address);
  const token = "s3cret-0123456789";
  t.equal(loadConfig({ AUTOSCALER_BIND_ADDRESS: "0.0.0.0", SLUICE_TOKEN: token }).token, token);
});

t.test("SLUICE_TOKEN: at least as long as the hop secret (16 characters)", async (t) => {
  t.match(problems({ SLUICE_TOKEN: "s3cret" }), [/SLUICE_TOKEN: at least 16 characters .*got 6/]);
  t.match(problems({ SLUICE_TOKEN: "x".repeat(15) }), [/SLUICE_TOKEN: at least 16 characters/]);
  t.equal(loadConfig({ SLUICE_TOKEN: "x".repeat(16) }).token, "x".repeat(16));
  t.same(problems({ SLUICE_TOKEN: "  " }), [], "blank is no token");
});

t.test("AUTOSCALER_ALLOWED_HOSTS", async (t) => {
  t.same(
    loadConfig({ AUTOSCALER_ALLOWED_HOSTS: " Sluice-Autoscaler.sluice.svc , sluice-autoscaler,[fd00::1]" })
      .allowedHosts,
    ["sluice-autoscaler.sluice.svc", "sluice-autoscaler", "fd00::1"],
  );
  t.match(problems({ AUTOSCALER_ALLOWED_HOSTS: "autoscaler:8090" }), [
    /"autoscaler:8090" is not a host name/,
  ]);
  t.match(problems({ AUTOSCALER_ALLOWED_HOSTS: "http://x" }), [/not a host name/]);
  t.match(problems({ AUTOSCALER_ALLOWED_HOSTS: "*" }), [/answers any Host: set SLUICE_TOKEN/]);
  t.same(loadConfig({ AUTOSCALER_ALLOWED_HOSTS: "*", SLUICE_TOKEN: "x".repeat(16) }).allowedHosts, ["*"]);
});

t.test("AUTOSCALER_RESTORE: active (default) or none", async (t) => {
  t.equal(loadConfig({}).restore, "active");
  t.equal(loadConfig({ AUTOSCALER_RESTORE: "none" }).restore, "none");
  t.same(problems({ AUTOSCALER_RESTORE: "all" }), ['AUTOSCALER_RESTORE="all": expected active or none']);
});

t.test(
  "SLUICE_PLATFORM=kubernetes: the controller's settings, each one named when missing or wrong",
  async (t) => {
    t.equal(loadConfig({}).platform, "local", "local by default");
    t.equal(loadConfig({}).kubernetes, undefined);
    const config = loadConfig({
      SLUICE_PLATFORM: "kubernetes",
      POD_NAMESPACE: "sluice-system",
      POD_NAME: "sluice-autoscaler-7d9c",
      SLUICE_QUEUE_PROXY_IMAGE: "ghcr.io/example/sluice:1.0",
      SLUICE_HOP_SECRET: "a-hop-secret-long-enough",
    });
    t.same(config.kubernetes, {
      group: "serving.sluice.dev",
      lease: { name: "sluice-autoscaler", namespace: "sluice-system" },
      identity: "sluice-autoscaler-7d9c",
      leaseDurationMs: 15_000,
      queueProxyImage: "ghcr.io/example/sluice:1.0",
      hopSecret: "a-hop-secret-long-enough",
      kubeconfig: undefined,
    });
    t.match(
      problems({
        SLUICE_PLATFORM: "kubernetes",
        SLUICE_SERVING_GROUP: "serving.example.dev",
        SLUICE_HOP_SECRET: "short",
      }),
      [
        /SLUICE_SERVING_GROUP="serving.example.dev": expected serving.sluice.dev or serving.knative.dev/,
        /SLUICE_HOP_SECRET: at least 16 characters/,
        /SLUICE_LEASE_NAMESPACE \(or POD_NAMESPACE\)/,
        /SLUICE_QUEUE_PROXY_IMAGE/,
      ],
    );
    t.match(problems({ SLUICE_PLATFORM: "nomad" }), [
      /SLUICE_PLATFORM="nomad": expected local or kubernetes/,
    ]);
  },
);

t.test("local capacity: derived from the machine, or set", async (t) => {
  const machine = { cores: 2, availableMemoryMb: 16_000 };
  const capacity = (env: Record<string, string>) => {
    const { maxPods, maxStarting, podMemoryMb } = loadConfig(env, machine).localCapacity;
    return { maxPods, maxStarting, podMemoryMb };
  };
  t.same(capacity({}), { maxPods: 8, maxStarting: 2, podMemoryMb: 150 }, "4 pods and 1 start per core");
  t.same(loadConfig({}, machine).localCapacity.machine, machine, "kept for the start-up log");
  t.same(capacity({ SLUICE_LOCAL_POD_MEMORY_MB: "4000" }), { maxPods: 3, maxStarting: 2, podMemoryMb: 4000 });
  t.same(capacity({ SLUICE_LOCAL_MAX_PODS: "30" }), { maxPods: 30, maxStarting: 2, podMemoryMb: 150 });
  t.same(
    capacity({ SLUICE_LOCAL_MAX_PODS: "1" }),
    { maxPods: 1, maxStarting: 1, podMemoryMb: 150 },
    "no more starting than may run",
  );
  t.same(capacity({ SLUICE_LOCAL_MAX_STARTING: "6" }), { maxPods: 8, maxStarting: 6, podMemoryMb: 150 });
  t.same(
    capacity({ SLUICE_LOCAL_MAX_PODS: "2", SLUICE_LOCAL_MAX_STARTING: "10" }),
    { maxPods: 2, maxStarting: 2, podMemoryMb: 150 },
    "set both: no more starting than may exist, as it applies",
  );
  t.ok(loadConfig({}).localCapacity.maxPods >= 1, "this machine's, at least one pod");
});

t.test("local capacity: bad values are named", async (t) => {
  t.match(problems({ SLUICE_LOCAL_MAX_PODS: "0" }), [
    'SLUICE_LOCAL_MAX_PODS="0": expected an integer from 1 to 100000',
  ]);
  t.match(problems({ SLUICE_LOCAL_MAX_PODS: "lots" }), [
    /^SLUICE_LOCAL_MAX_PODS="lots": expected an integer/,
  ]);
  t.match(problems({ SLUICE_LOCAL_MAX_STARTING: "1.5" }), [
    /^SLUICE_LOCAL_MAX_STARTING="1.5": expected an integer from 1/,
  ]);
  t.match(problems({ SLUICE_LOCAL_POD_MEMORY_MB: "-5" }), [
    /^SLUICE_LOCAL_POD_MEMORY_MB="-5": expected a number from 1/,
  ]);
});
