import { type Command, EXIT_USAGE } from "../command.ts";

// Placeholder until this command is built (issue 7).
export const status: Command = async () => {
  console.error("sluice status: not available yet in this version");
  return EXIT_USAGE;
};
