/** A subcommand: gets its own arguments, prints what it has to say, returns the exit code. */
export type Command = (args: string[]) => Promise<number>;

/** Exit codes: 0 success, 1 the operation failed (e.g. sluice unreachable), 2 bad usage or input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
