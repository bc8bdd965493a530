// `hello` in two namespaces, applied together: each has its own hello-00001, its own pods and its
// own hosts through the router and activator; status lists both; collecting one leaves the other.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { Agent, request } from "undici";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { startActivator } from "../helpers/data-plane.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { waitFor } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";

// min-scale 1: each pod stays while the other namespace's revision is collected (idle, it would
// otherwise scale to zero and "untouched" would mean nothing).
const inNamespace = (namespace: string, version: string) =>
  appService("hello", { version, annotations: ['autoscaling.knative.dev/min-scale: "1"'] }).replace(
    "  name: hello\n",
    `  name: hello\n  namespace: ${namespace}\n`,
  );

t.test("hello in default and in staging: two hello-00001s, each with its own pods", async (t) => {
  const stateDir = tempStateDir(t, "sluice-namespaces-");
  const autoscaler = await startAutoscaler(t, {
    SLUICE_STATE_DIR: stateDir,
    REVISION_RETENTION_SECONDS: "0",
  });
  await autoscaler.apply(
    `${inNamespace("default", "in-default")}---\n${inNamespace("staging", "in-staging")}`,
  );
  const activator = await startActivator(t, autoscaler.url);
  const router = await startRouter(t, autoscaler.url, { ACTIVATOR_URL: activator.url });
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());

  const state = await autoscaler.state();
  t.same(Object.keys(state.revisions).sort(), ["default/hello-00001", "staging/hello-00001"]);
  t.same(
    [state.services["default/hello"].traffic, state.services["staging/hello"].traffic],
    [[{ revision: "hello-00001", percent: 100 }], [{ revision: "hello-00001", percent: 100 }]],
  );

  const ask = async (host: string) => {
    const res = await request(`${router.url}/headers`, { dispatcher, headers: { host } });
    const body = (await res.body.json()) as { version: string; revision: string };
    return {
      status: res.statusCode,
      header: res.headers["sluice-revision"],
      version: body.version,
      revision: body.revision,
    };
  };
  for (const namespace of ["default", "staging"]) {
    t.same(
      await ask(`hello.${namespace}.example.com`),
      { status: 200, header: "hello-00001", version: `in-${namespace}`, revision: "hello-00001" },
      `${namespace}'s host reaches ${namespace}'s pod; the client sees the plain revision name`,
    );
  }

  const ready = await waitFor("a ready pod in each namespace", async () => {
    const s = await autoscaler.state();
    const pods = ["default", "staging"].map((ns) => s.revisions[`${ns}/hello-00001`]?.endpoints ?? []);
    return pods.every((endpoints) => endpoints.length > 0) ? pods : undefined;
  });
  t.not(ready[0][0].url, ready[1][0].url, "two pods, not one shared");
  t.ok(
    readdirSync(join(stateDir, "pods")).some((dir) => dir.startsWith("default_hello-00001-")) &&
      readdirSync(join(stateDir, "pods")).some((dir) => dir.startsWith("staging_hello-00001-")),
    "pod directories apart by namespace",
  );

  const status = await autoscaler.status();
  t.same(
    status.services.map((s) => `${s.namespace}/${s.name}: ${s.revisions.map((r) => r.name).join(", ")}`),
    ["default/hello: hello-00001", "staging/hello: hello-00001"],
  );

  // A new template in staging: its hello-00001 is collected (retention 0); default's stays.
  await autoscaler.apply(inNamespace("staging", "in-staging-2"));
  await waitFor("staging's hello-00001 collected", async () => {
    const s = await autoscaler.state();
    return (
      s.revisions["staging/hello-00001"] === undefined && s.revisions["staging/hello-00002"] !== undefined
    );
  });
  const after = await autoscaler.state();
  t.same(after.revisions["default/hello-00001"].endpoints, ready[0], "default's revision and pod untouched");
  t.same(await ask("hello.default.example.com"), {
    status: 200,
    header: "hello-00001",
    version: "in-default",
    revision: "hello-00001",
  });
  t.match(await ask("hello.staging.example.com"), {
    status: 200,
    header: "hello-00002",
    version: "in-staging-2",
  });
  const services = (await (await request(`${autoscaler.url}/v1/services`)).body.json()) as {
    services: { manifest: { metadata: { namespace: string } }; revisions: string[] }[];
  };
  t.same(
    services.services.map((s) => `${s.manifest.metadata.namespace}: ${s.revisions.join(", ")}`),
    ["default: hello-00001", "staging: hello-00002"],
  );
});
