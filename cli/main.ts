// The sluice command: a table of subcommands, each in its own file under commands/.
// Exit codes scripts can rely on: 0 ok, 1 the operation failed, 2 bad usage or invalid input.
import type { Command } from "./command.ts";

const commands: Record<string, () => Promise<Command>> = {
  up: async () => (await import("./commands/up.ts")).up,
  apply: async () => (await import("./commands/apply.ts")).apply,
  validate: async () => (await import("./commands/validate.ts")).validate,
  status: async () => (await import("./commands/status.ts")).status,
  logs: async () => (await import("./commands/logs.ts")).logs,
};

const summaries: Record<string, string> = {
  up: "run sluice and local pods on Service and Eventing files (default: examples/)",
  apply: "send Service and Eventing files to a running sluice (or a cluster)",
  validate: "check Service and Eventing files without applying them",
  status: "show services, revisions, traffic, pods, load, brokers, triggers and sources",
  logs: "show (and follow) the output of a service's pods",
};

const usage = `usage: sluice <command> [options]

commands:
${Object.entries(summaries)
  .map(([name, summary]) => `  ${name.padEnd(10)}${summary}`)
  .join("\n")}

Run "sluice <command> --help" for a command's options.`;

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === "--help" || name === "-h" || name === "help") {
  console.log(usage);
  process.exit(0);
}
const load = commands[name];
if (!load) {
  console.error(`sluice: unknown command "${name}"\n\n${usage}`);
  process.exit(2);
}
let command: Command;
try {
  command = await load();
} catch (error) {
  if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
  console.error(`sluice ${name}: not available yet in this version`);
  process.exit(2);
}
process.exitCode = await command(args);
