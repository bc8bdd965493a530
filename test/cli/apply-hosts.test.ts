// `sluice apply` checks the files against the running services before it sends anything: a tag host
// that is another running service's host is refused by the CLI itself, naming both.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { serviceYaml, taggedTraffic } from "../helpers/service-yaml.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const service = (name: string, traffic = "") =>
  serviceYaml(name, { namespace: "x", annotations: ['autoscaling.knative.dev/initial-scale: "0"'], traffic });

t.test("a tag host that a running service has is refused before anything is sent", async (t) => {
  const dir = tempDir(t, "sluice-apply-hosts-");
  const autoscaler = await startAutoscaler(t);
  const at = ["--autoscaler", autoscaler.url];

  writeFileSync(join(dir, "b-a.yaml"), service("b-a"));
  const first = await sluice(["apply", "-f", join(dir, "b-a.yaml"), ...at]);
  t.equal(first.code, 0, first.stderr);

  // Service a's tag b answers on b-a.x.{domain}: service x/b-a's host.
  writeFileSync(join(dir, "a.yaml"), service("a", taggedTraffic("b")));
  const clash = await sluice(["apply", "-f", join(dir, "a.yaml"), ...at]);
  t.equal(clash.code, 2, "refused as invalid input");
  t.match(clash.stderr, /x\/a/, "names the service applied");
  t.match(clash.stderr, /x\/b-a/, "names the running service");
  t.match(clash.stderr, /nothing was applied/);
  t.notMatch(clash.stderr, /the autoscaler refused/, "the CLI refused it itself, before sending");
  const state = await autoscaler.state();
  t.notOk(state.services["x/a"], "x/a was not applied");
});
