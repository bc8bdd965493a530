// The Dockerfile, without Docker (no engine or registry is reachable here): the image's tree is
// built the way the Dockerfile builds it — its COPY lines copied into a temp /app, its `npm ci`
// (production dependencies only) run there — and each component is started by the image's own
// command script, taken verbatim from the Dockerfile: once with a minimal environment, once with
// the environment the chart gives its pod (ports, bind address and peer URLs moved to loopback).
// Every component must start, answer its probes and the requests it exists for.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import t, { type Test } from "tap";
import { freePort } from "../../common/free-port.ts";
import { QUEUE_PROXY_NODE_OPTIONS } from "../../common/prebuilt.ts";
import { build } from "../../scripts/build.ts";
import { containerEnv, deployment, helmSkip, render } from "../charts/chart.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";

const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const COMPONENTS = ["router", "activator", "autoscaler", "queue-proxy"];
/** Every command of the image: the data plane's components, and eventing (it needs NATS to start). */
const COMMANDS = [...COMPONENTS, "eventing"];
const TOKEN = "image-test-token-0123456789";
const HOP_SECRET = "image-test-hop-secret-0123456789";

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, each with its instructions (continuation lines joined, heredocs kept whole). */
function stages(): Stage[] {
  const out: Stage[] = [];
  const lines = DOCKERFILE.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    const heredoc = /<<'?(\w+)'?/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[1], i + 1);
      line = lines.slice(i, end + 1).join("\n");
      i = end;
    } else {
      while (line.endsWith("\\")) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
    }
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const STAGES = stages();
const RUNTIME = STAGES.at(-1) as Stage;
const DEPS = STAGES.find((stage) => stage.lines.some((line) => /npm ci/.test(line))) as Stage;
const BUILD = STAGES.find((stage) => / AS build$/.test(stage.from)) as Stage;

/** The command script the image runs components with (the COPY heredoc). */
function componentScript(): { path: string; body: string } {
  const copy = RUNTIME.lines.find((line) => /^COPY\b.*<</.test(line)) as string;
  const [first, ...rest] = copy.split("\n");
  const path = first.trim().split(/\s+/).at(-1) as string;
  return { path, body: `${rest.slice(0, -1).join("\n")}\n` };
}

/** The runtime stage's `COPY src… dest` lines from the build context (not --from, not heredocs). */
function contextCopies(stage: Stage): { sources: string[]; dest: string }[] {
  return stage.lines
    .filter((line) => /^COPY\s/.test(line) && !line.includes("--from") && !line.includes("<<"))
    .map((line) => {
      const words = line
        .split(/\s+/)
        .slice(1)
        .filter((word) => !word.startsWith("--"));
      return { sources: words.slice(0, -1), dest: words.at(-1) as string };
    });
}

const NODE_BIN = dirname(process.execPath);
const PATH = `${NODE_BIN}:/usr/local/bin:/usr/bin:/bin`;

/**
 * node_modules from the Dockerfile's own `npm ci …` line, cached in the temp dir per
 * package.json + package-lock.json (a second run, or a second test, takes no time).
 */
function productionModules(): string {
  const hash = createHash("sha256")
    .update(readFileSync(join(ROOT, "package.json")))
    .update(readFileSync(join(ROOT, "package-lock.json")))
    .update(DEPS.lines.join("\n"))
    .digest("hex")
    .slice(0, 16);
  const cached = join(tmpdir(), `sluice-image-deps-${hash}`);
  if (existsSync(join(cached, "node_modules"))) return join(cached, "node_modules");
  const work = mkdtempSync(join(tmpdir(), "sluice-image-deps-"));
  for (const { sources } of contextCopies(DEPS))
    for (const source of sources) cpSync(join(ROOT, source), join(work, source));
  const run = DEPS.lines.find((line) => /npm ci/.test(line)) as string;
  // Only the `npm ci …` command of that RUN line (not `npm cache clean`: the cache is this machine's).
  const npmCi = (/npm ci[^&;]*/.exec(run) as RegExpExecArray)[0].trim().split(/\s+/);
  const result = spawnSync("npm", [...npmCi.slice(1), "--prefer-offline"], {
    cwd: work,
    env: { ...process.env, PATH, NODE_ENV: "production" },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`npm ${npmCi.slice(1).join(" ")} failed:\n${result.stderr}`);
  try {
    renameSync(work, cached);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another test run cached it first
  }
  return join(cached, "node_modules");
}

/**
 * /app as the runtime stage builds it (the build stage's bundles in dist/, made by the same
 * scripts/build.ts from the tree's own sources), and a bin/ holding the command script and its links.
 */
async function buildTree(t: Test): Promise<{ app: string; bin: string }> {
  const root = mkdtempSync(join(tmpdir(), "sluice-image-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const app = join(root, "app");
  mkdirSync(app);
  for (const { sources, dest } of contextCopies(RUNTIME)) {
    for (const source of sources) {
      const target = dest.endsWith("/") ? join(app, dest, source) : join(app, dest);
      cpSync(join(ROOT, source), target, {
        recursive: true,
        filter: (path) => !path.includes("node_modules"),
      });
    }
  }
  symlinkSync(productionModules(), join(app, "node_modules"));
  await build({ root: app, dist: join(app, "dist") });
  const bin = join(root, "bin");
  mkdirSync(bin);
  const script = componentScript();
  const scriptName = script.path.split("/").at(-1) as string;
  writeFileSync(join(bin, scriptName), script.body, { mode: 0o755 });
  const links = /for component in ([\w -]+); do/.exec(RUNTIME.lines.join("\n"));
  for (const component of (links?.[1] ?? "").trim().split(/\s+/))
    symlinkSync(scriptName, join(bin, component));
  return { app, bin };
}

interface Running {
  child: ChildProcess;
  message: Record<string, number>;
  output: () => string;
}

/** Runs `command` as the image would (by name, from PATH, WORKDIR /app) and waits for its ports. */
async function startComponent(
  t: Test,
  tree: { app: string; bin: string },
  command: string,
  env: Record<string, string>,
): Promise<Running> {
  const child = spawn(join(tree.bin, command), [], {
    cwd: tree.app,
    env: {
      PATH: `${tree.bin}:${PATH}`,
      HOME: tree.app,
      NODE_ENV: "production",
      SLUICE_HOME: tree.app,
      LOG_LEVEL: "warn",
      SLUICE_TOKEN: TOKEN,
      SLUICE_HOP_SECRET: HOP_SECRET,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const { output } = watchChild(t, child);
  const message = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${output()}`)), 15_000);
    child.on("message", (msg: Record<string, number>) => {
      if ((msg as { type?: string }).type === "listening") {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output()}`));
    });
  });
  // The script execs node on the component's bundle: the same process.
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
  t.same(
    argv.filter((arg) => !arg.startsWith("--")).slice(1, 2),
    [join(tree.app, "dist", `${command}.cjs`)],
    `${command} runs from its prebuilt bundle`,
  );
  if (command === "queue-proxy")
    t.same(
      argv.filter((arg) => arg.startsWith("--")),
      QUEUE_PROXY_NODE_OPTIONS,
      "with its own V8 flags",
    );
  return { child, message, output };
}

const status = async (url: string, headers: Record<string, string> = {}) =>
  (await fetch(url, { headers, signal: AbortSignal.timeout(2000) })).status;

t.test("the Dockerfile: multi-stage, Node 24 slim, production dependencies only, non-root", async (t) => {
  t.ok(STAGES.length >= 2, "multi-stage");
  t.match(DOCKERFILE, /^ARG NODE_IMAGE=node:24-slim$/m, "Node 24 slim");
  for (const stage of STAGES) t.match(stage.from, /^FROM \$\{NODE_IMAGE\}/);
  t.match(DEPS.lines.join("\n"), /npm ci --omit=dev --ignore-scripts/);
  t.ok(BUILD, "a build stage");
  t.ok(
    BUILD.lines.some((line) => /^RUN node scripts\/build\.ts$/.test(line)),
    "that builds the bundles with scripts/build.ts",
  );
  t.ok(
    RUNTIME.lines.includes("COPY --from=build /app/dist ./dist"),
    "the runtime image takes only its dist/",
  );
  const user = RUNTIME.lines.filter((line) => line.startsWith("USER ")).at(-1);
  t.match(user, /^USER [1-9]\d*:[1-9]\d*$/, "a numeric non-root user (runAsNonRoot can check it)");
  const values = readFileSync(join(ROOT, "charts/sluice/values.yaml"), "utf8");
  t.match(
    values,
    new RegExp(`runAsUser: ${(user as string).split(/[ :]/)[1]}\\b`),
    "the chart runs as the image's user",
  );
  t.match(
    RUNTIME.lines.join("\n"),
    /COPY --from=deps \/app\/node_modules/,
    "only the deps stage's node_modules",
  );
  t.equal(componentScript().path, "/usr/local/bin/sluice-component");
  const links = /for component in ([\w -]+); do/.exec(RUNTIME.lines.join("\n"));
  t.same(links?.[1].trim().split(/\s+/), COMMANDS, "one command per component, linked to the script");
  const cases = [...componentScript().body.matchAll(/^\s*([\w|-]+)\)\s*$/gm)].flatMap((m) => m[1].split("|"));
  t.same(cases.sort(), [...COMMANDS].sort(), "the script runs each of them");
  // The queue-proxy's own V8 flags go on its command line (node refuses them in NODE_OPTIONS).
  const queueProxyLine = /queue-proxy\)\s*\n\s*(exec node[^\n]*)/.exec(componentScript().body)?.[1] ?? "";
  for (const flag of QUEUE_PROXY_NODE_OPTIONS)
    t.match(queueProxyLine, flag, `the queue-proxy runs with ${flag}`);
  // The build context the .dockerignore leaves holds every directory the COPY lines name.
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim());
  for (const { sources } of contextCopies(RUNTIME))
    for (const source of sources) t.notOk(ignored.includes(source), `${source} is in the build context`);
});

let shared: Promise<{ app: string; bin: string }> | undefined;
/** One tree for the file: built once, removed at the end. */
const treeFor = () => {
  shared ??= buildTree(t);
  return shared;
};

t.test("the image tree: production dependencies only, the command script", async (t) => {
  const tree = await treeFor();
  const modules = join(tree.app, "node_modules");
  for (const dev of [
    "tap",
    "typescript",
    "@biomejs/biome",
    "autocannon",
    "fast-check",
    "puppeteer-core",
    "node",
  ])
    t.notOk(existsSync(join(modules, dev)), `devDependency ${dev} is not installed`);
  for (const dep of ["undici", "prom-client", "pino", "yaml"])
    t.ok(existsSync(join(modules, dep)), `${dep} is installed`);

  const unknown = spawnSync(join(tree.bin, "sluice-component"), [], { encoding: "utf8", env: { PATH } });
  t.equal(unknown.status, 64, "the script by its own name: a usage error");
  t.match(unknown.stderr, /router, activator, autoscaler, queue-proxy/);
});

/**
 * Starts autoscaler, activator and router (each on top of `base(component)`, with loopback ports),
 * then a queue-proxy in front of a tiny app, and checks each answers as it should.
 */
async function startDataPlane(
  t: Test,
  tree: { app: string; bin: string },
  base: (component: string) => Record<string, string>,
): Promise<void> {
  const token = (env: Record<string, string>) => env.SLUICE_TOKEN ?? TOKEN;
  const autoscaler = await startComponent(t, tree, "autoscaler", {
    ...base("autoscaler"),
    AUTOSCALER_PORT: "0",
    AUTOSCALER_BIND_ADDRESS: "127.0.0.1",
    SLUICE_STATE_DIR: join(tree.app, "..", "state"),
  });
  const autoscalerUrl = `http://127.0.0.1:${autoscaler.message.port}`;
  t.equal(await status(`${autoscalerUrl}/healthz`), 200, "autoscaler /healthz");
  t.equal(await status(`${autoscalerUrl}/readyz`), 200, "autoscaler /readyz");
  t.equal(await status(`${autoscalerUrl}/v1/state`), 401, "autoscaler API needs the token");
  t.equal(
    await status(`${autoscalerUrl}/v1/state`, { authorization: `Bearer ${token(base("autoscaler"))}` }),
    200,
    "…and takes it",
  );

  const activator = await startComponent(t, tree, "activator", {
    ...base("activator"),
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    ACTIVATOR_BIND_ADDRESS: "127.0.0.1",
    AUTOSCALER_URL: autoscalerUrl,
  });
  const activatorAdmin = `http://127.0.0.1:${activator.message.adminPort}`;
  t.equal(await status(`${activatorAdmin}/healthz`), 200, "activator /healthz");
  await waitFor("activator ready", async () => (await status(`${activatorAdmin}/readyz`)) === 200);

  const router = await startComponent(t, tree, "router", {
    ...base("router"),
    ROUTER_PORT: "0",
    ROUTER_ADMIN_PORT: "0",
    ROUTER_BIND_ADDRESS: "127.0.0.1",
    AUTOSCALER_URL: autoscalerUrl,
    ACTIVATOR_URL: `http://127.0.0.1:${activator.message.port}`,
  });
  const routerAdmin = `http://127.0.0.1:${router.message.adminPort}`;
  t.equal(await status(`${routerAdmin}/healthz`), 200, "router /healthz");
  // Ready once it holds the autoscaler's state: the watch authenticated with the token.
  await waitFor("router ready", async () => (await status(`${routerAdmin}/readyz`)) === 200);
  const notFound = await fetch(`http://127.0.0.1:${router.message.port}/`, {
    headers: { host: "nothing.example.com" },
  });
  t.equal(notFound.status, 404, "router answers client traffic: no route for an unknown host");
  await notFound.text();

  // The queue-proxy in front of a tiny app, as in a revision's pod.
  const appPort = await freePort();
  const app = spawn(
    process.execPath,
    [
      "-e",
      `require("node:http").createServer((q, s) => s.end("hello from the app")).listen(${appPort}, "127.0.0.1")`,
    ],
    { stdio: "ignore" },
  );
  t.teardown(() => app.kill("SIGKILL"));
  const queueProxy = await startComponent(t, tree, "queue-proxy", {
    QUEUE_SERVING_PORT: "0",
    QUEUE_ADMIN_PORT: "0",
    QUEUE_METRICS_PORT: "0",
    QUEUE_BIND_ADDRESS: "127.0.0.1",
    USER_PORT: String(appPort),
    CONTAINER_CONCURRENCY: "10",
    SERVING_SERVICE: "hello",
    SERVING_REVISION: "hello-00001",
  });
  const queueAdmin = `http://127.0.0.1:${queueProxy.message.adminPort}`;
  t.equal(await status(`${queueAdmin}/healthz`), 200, "queue-proxy /healthz");
  await waitFor(
    "queue-proxy ready (the app answers)",
    async () => (await status(`${queueAdmin}/readyz`)) === 200,
  );
  const answer = await fetch(`http://127.0.0.1:${queueProxy.message.servingPort}/`);
  t.equal(await answer.text(), "hello from the app", "a request through the queue-proxy reaches the app");

  for (const running of [autoscaler, activator, router, queueProxy])
    t.notMatch(running.output(), /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/, "no missing module");
}

t.test("each component starts from the production-only tree by the image's command", async (t) => {
  const plain: Record<string, Record<string, string>> = {
    autoscaler: { AUTOSCALER_ALLOWED_HOSTS: "sluice-autoscaler.sluice-system.svc" },
    activator: { ACTIVATOR_NAME: "activator-pod-1" },
  };
  await startDataPlane(t, await treeFor(), (component) => plain[component] ?? {});
});

t.test(
  "…and with the environment the chart gives each pod (loopback ports instead)",
  { skip: helmSkip() },
  async (t) => {
    const docs = render({ logLevel: "warn" });
    await startDataPlane(t, await treeFor(), (component) => {
      const containers = deployment(docs, component).spec.template.spec.containers;
      const env = containerEnv(docs, containers[0], {
        "metadata.name": `${component}-pod-1`,
        "metadata.namespace": "sluice-system",
        "status.podIP": "127.0.0.1",
      });
      // No cluster here: the chart's autoscaler (SLUICE_PLATFORM=kubernetes) runs against a real
      // API server in test/kube/chart-e2e.test.ts; this checks the rest of its env on its own.
      return component === "autoscaler" ? { ...env, SLUICE_PLATFORM: "local" } : env;
    });
  },
);
