// The Service file the k6 cold burst's instructions start (bench/k6/cold.yaml): it loads, validates,
// runs locally, and is the burst's service: cold.default.example.com at zero, containerConcurrency 4.
import { readFileSync } from "node:fs";
import t from "tap";
import { loadManifests } from "../../serving/load.ts";
import { localRunnable, validateServices } from "../../serving/validate.ts";
import { ROOT } from "../helpers/processes.ts";

t.test("bench/k6/cold.yaml is the cold burst's service, at zero and ready to run", async (t) => {
  const file = "bench/k6/cold.yaml";
  const { services, problems } = loadManifests(readFileSync(`${ROOT}${file}`, "utf8"), file);
  t.same(problems, []);
  t.same(
    validateServices(services, () => []),
    [],
  );
  const [cold] = services.map((service) => service.manifest);
  t.equal(cold.metadata.name, "cold", "the host the instructions use: cold.default.example.com");
  t.equal(localRunnable(cold), undefined, "runs with sluice up");
  t.equal(cold.spec.template.spec.containerConcurrency, 4);
  const annotations = cold.spec.template.metadata?.annotations ?? {};
  t.equal(annotations["autoscaling.knative.dev/initial-scale"], "0", "starts at zero");
  t.equal(annotations["autoscaling.knative.dev/min-scale"], "0", "goes back to zero");
  t.match(readFileSync(`${ROOT}bench/README.md`, "utf8"), "-f bench/k6/cold.yaml", "the README starts it");
});
