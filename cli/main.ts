// The sluice command. `sluice up` (and so `npm start`) arrives with the issue
// "One command to run it all"; until then this says so instead of failing obscurely.
const [command] = process.argv.slice(2);
const usage = `usage: sluice <command>

commands (in progress):
  up        run the whole data plane locally on the examples (not built yet)

Built so far: the queue-proxy (node queue-proxy/main.ts; see docs/queue-proxy.md).`;

if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  console.log(usage);
  process.exit(0);
}
console.error(`sluice ${command}: not available yet in this version.\n\n${usage}`);
process.exit(2);
