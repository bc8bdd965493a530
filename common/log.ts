import { writeSync } from "node:fs";
import type { Logger, LoggerOptions } from "pino";
import type { EnvReader } from "./env.ts";
import { fields, LEVELS, type LevelName, simpleLine } from "./log-line.ts";

export type { Logger };

type Pino = (options: LoggerOptions) => Logger;

// pino is loaded at the first line it is needed for, not at start (~3 MB of RSS with the
// worker_threads and assert it requires: a queue-proxy that only says it is listening never needs
// it). In a bundle (CommonJS) esbuild turns `require("pino")` into a require() of pino's own
// bundle beside it (dist/pino.cjs, scripts/build.ts); from the sources (an ES module) there is no
// `require`, and node_modules' pino is required instead.
const loadPino = (): Pino =>
  (typeof require === "function"
    ? require("pino")
    : process.getBuiltinModule("node:module").createRequire(import.meta.url)("pino")) as Pino;

/** pino's level names, and silent (nothing written). */
export type LogLevel = LevelName | "silent";
const LOG_LEVELS: readonly LogLevel[] = [...(Object.keys(LEVELS) as LevelName[]), "silent"];

/** LOG_LEVEL, in a component's configuration: info when unset or empty. */
export function readLogLevel(env: EnvReader): LogLevel {
  return env.oneOf("LOG_LEVEL", LOG_LEVELS, "info");
}

/** One JSON line per event, at `level` (a component's is its configuration's LOG_LEVEL). */
export function createLogger(component: string, level: string): Logger {
  const options: LoggerOptions = { name: component, level, base: { component, pid: process.pid } };
  const threshold = level === "silent" ? Number.POSITIVE_INFINITY : LEVELS[level as LevelName];
  // An unknown level: pino's own error, at once.
  if (threshold === undefined) return loadPino()(options);
  // pino writes the base, then its name, then each child's bindings.
  const bindings = fields({ ...options.base, name: component });
  return deferredLogger(() => loadPino()(options), threshold, bindings);
}

/**
 * A Logger that writes the simple lines (log-line.ts) itself, synchronously as pino's default
 * destination does, and makes the pino logger (`make`) for anything else: a call with an Error or
 * a nested object, any other property. From then on every call is pino's.
 */
function deferredLogger(make: () => Logger, threshold: number, bindings: string | undefined): Logger {
  let real: Logger | undefined;
  const materialize = (): Logger => {
    real ??= make();
    return real;
  };
  const own: Record<string | symbol, unknown> = {
    child(childBindings: Record<string, unknown>, options?: unknown) {
      if (real !== undefined || options !== undefined)
        return materialize().child(childBindings, options as never);
      const written = bindings === undefined ? undefined : fields(childBindings);
      return deferredLogger(
        () => materialize().child(childBindings),
        threshold,
        written === undefined ? undefined : bindings + written,
      );
    },
    isLevelEnabled: (name: string) =>
      real ? real.isLevelEnabled(name) : LEVELS[name as LevelName] >= threshold,
  };
  for (const [name, number] of Object.entries(LEVELS) as [LevelName, number][]) {
    own[name] = (...args: unknown[]) => {
      if (real === undefined) {
        if (number < threshold) return;
        const line = bindings === undefined ? undefined : simpleLine(number, Date.now(), bindings, args);
        if (line !== undefined) {
          writeSync(1, line);
          return;
        }
      }
      (materialize()[name] as (...args: unknown[]) => void)(...args);
    };
  }
  return new Proxy(own, {
    get(target, property) {
      if (Object.hasOwn(target, property)) return target[property];
      const value = Reflect.get(materialize(), property);
      return typeof value === "function" ? value.bind(real) : value;
    },
    set: (_target, property, value) => Reflect.set(materialize(), property, value),
    has: (_target, property) => property in materialize(),
  }) as unknown as Logger;
}
