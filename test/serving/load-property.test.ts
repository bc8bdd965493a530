// Property-based: no document, however broken, makes the loader or the checks throw; each input
// either loads or is refused with problems that all carry a path and a position.
import fc from "fast-check";
import t from "tap";
import { stringify } from "yaml";
import { formatProblem, loadManifests, type Problem } from "../../serving/load.ts";
import { resolveRoute } from "../../serving/routes.ts";
import { localRunnable, validateServices } from "../../serving/validate.ts";

const VALID = {
  apiVersion: "serving.knative.dev/v1",
  kind: "Service",
  metadata: { name: "hello", namespace: "x", annotations: { "serving.knative.dev/rollout-duration": "1m" } },
  spec: {
    template: {
      metadata: {
        name: "hello-00001",
        annotations: {
          "autoscaling.knative.dev/min-scale": "1",
          "autoscaling.knative.dev/max-scale": "5",
          "autoscaling.sluice.dev/schedule": '- cron: "0 8 * * *"\n  duration: 1h\n  minScale: 2\n',
        },
      },
      spec: {
        containerConcurrency: 10,
        timeoutSeconds: 30,
        containers: [
          {
            command: ["node", "app.ts"],
            env: [{ name: "A", value: "1" }],
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/" } },
          },
        ],
      },
    },
    traffic: [
      { latestRevision: true, percent: 80 },
      { revisionName: "hello-00001", percent: 20, tag: "b" },
    ],
  },
};

/** Services already running, so host collisions are exercised too (tag b of hello is b-hello). */
const RUNNING = loadManifests(
  stringify({
    ...VALID,
    metadata: { name: "b-hello", namespace: "x" },
    spec: { template: VALID.spec.template },
  }),
  "running.yaml",
).services.map((service) => service.manifest);

function check(text: string): void {
  const loaded = loadManifests(text, "f.yaml");
  const problems: Problem[] = [
    ...loaded.problems,
    ...validateServices(loaded.documents, () => ["hello-00001"], RUNNING),
  ];
  for (const { draft, rejected } of loaded.documents) {
    if (!rejected(["spec"])) localRunnable(draft);
  }
  for (const { manifest } of loaded.services)
    resolveRoute(manifest, { created: "hello-00002" }, "example.com");
  if (loaded.services.length === 0 && problems.length === 0)
    throw new Error("neither a service nor a problem");
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const problem of problems) {
    if (typeof problem.path !== "string") throw new Error(`no path: ${JSON.stringify(problem)}`);
    if (!Number.isInteger(problem.line) || (problem.line ?? 0) < 1 || (problem.line ?? 0) > lines + 1)
      throw new Error(`bad line: ${JSON.stringify(problem)}`);
    if (!Number.isInteger(problem.column) || (problem.column ?? 0) < 1)
      throw new Error(`bad column: ${JSON.stringify(problem)}`);
    if (problem.message === "") throw new Error(`no message: ${JSON.stringify(problem)}`);
    if (!/^f\.yaml:\d+:\d+: /.test(formatProblem(problem))) throw new Error(formatProblem(problem));
  }
}

/** Every path to a value in `value` ([] for the root). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) out.push(...paths(item, [...prefix, i]));
  } else if (value !== null && typeof value === "object")
    for (const [key, item] of Object.entries(value)) out.push(...paths(item, [...prefix, key]));
  return out;
}

const DELETE = Symbol("delete");
const ALL_PATHS = paths(VALID);

/** A replacement that is often the wrong type, or almost right (strings that look like numbers…). */
const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, DELETE, "", "0", "-1", "1e3", "lots", "null", "~", -1, 0, 1.5, 1e9, true, [], {}),
  fc.constantFrom("hello", "b-hello", "hello-00001", "Hello_World", "b", "x", "default"),
);

function mutate(mutations: { path: number; value: unknown; key: string }[]): unknown {
  const copy = structuredClone(VALID) as Record<string, unknown>;
  let root: unknown = copy;
  for (const mutation of mutations) {
    const path = ALL_PATHS[mutation.path];
    const key = mutation.key;
    // A copy of its own: fast-check hands out the same [] or {} to several mutations, and one
    // written into another's would make a cycle, which no parser makes.
    const value = mutation.value === DELETE ? DELETE : structuredClone(mutation.value);
    if (path.length === 0) {
      root = value === DELETE ? null : value;
      continue;
    }
    let parent: unknown = root;
    for (const part of path.slice(0, -1))
      parent = (parent as Record<string | number, unknown> | null)?.[part];
    if (parent === null || typeof parent !== "object") continue; // an earlier mutation replaced it
    const last = path[path.length - 1];
    const target = parent as Record<string | number, unknown>;
    if (value === DELETE) delete target[last];
    else target[last] = value;
    // Sometimes an extra field beside it as well: an own property, so that "__proto__" is a field of
    // the document (as a parser makes it), not the object's prototype (which also throws on a cycle).
    if (key !== "" && !Array.isArray(parent))
      Object.defineProperty(target, key, {
        value: value === DELETE ? null : value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return root;
}

const mutations = fc.array(
  fc.record({
    path: fc.nat({ max: ALL_PATHS.length - 1 }),
    value: replacement,
    key: fc.constantFrom("", "", "", "extra", "__proto__", "name", "tag", "percent"),
  }),
  { minLength: 1, maxLength: 5 },
);

/** Serialize as YAML or JSON, sometimes as several documents. */
const serialized = (value: unknown) =>
  fc.constantFrom("yaml", "json", "two").map((form) => {
    const yaml = stringify(value === undefined ? null : value);
    if (form === "json") return JSON.stringify(value) ?? "";
    if (form === "two") return `${stringify(VALID)}---\n${yaml}`;
    return yaml;
  });

t.test("the unmutated Service loads without problems", async (t) => {
  const loaded = loadManifests(stringify(VALID), "f.yaml");
  t.same(loaded.problems, []);
  t.same(
    validateServices(loaded.documents, () => ["hello-00001"]),
    [],
  );
});

t.test("mutations of a valid Service never throw; they load or report located problems", async () => {
  fc.assert(
    fc.property(
      mutations.chain((m) => serialized(mutate(m))),
      check,
    ),
    { numRuns: 400 },
  );
});

t.test("random JSON and YAML structures never throw", async () => {
  fc.assert(fc.property(fc.jsonValue().chain(serialized), check), { numRuns: 200 });
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.constantFrom("apiVersion", "kind", "metadata", "spec", "status", "template", "traffic"),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      (value) => check(stringify({ apiVersion: "serving.knative.dev/v1", kind: "Service", ...value })),
    ),
    { numRuns: 200 },
  );
});

const TOKENS = [
  "a",
  "name",
  ": ",
  ":",
  " ",
  "  ",
  "\n",
  "\r\n",
  "\t",
  "- ",
  "---\n",
  "...\n",
  "{",
  "}",
  "[",
  "]",
  ",",
  "&a ",
  "*a",
  "!!binary ",
  "!!set ",
  "!!omap ",
  "!tag ",
  "? ",
  "null",
  "~",
  '"',
  "'",
  "#",
  "<<: ",
  "|\n",
  ">-\n",
  "%YAML 1.2\n",
  "1e400",
  ".nan",
  "apiVersion: serving.knative.dev/v1\n",
  "kind: Service\n",
  "metadata:\n  name: hello\n",
  "spec:\n  template:\n    spec:\n      containers:\n",
  "__proto__",
  "\u0000",
  "\ufeff",
];

t.test("random YAML-ish text never throws", async () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }), (tokens) => check(tokens.join(""))),
    { numRuns: 400 },
  );
});

t.test("random edits of a valid file's text never throw", async () => {
  const text = stringify(VALID);
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          at: fc.nat({ max: text.length }),
          cut: fc.nat({ max: 8 }),
          insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      (edits) => {
        let edited = text;
        for (const { at, cut, insert } of edits)
          edited = edited.slice(0, at) + insert + edited.slice(at + cut);
        check(edited);
      },
    ),
    { numRuns: 400 },
  );
});
