// Typed environment parsing: each component reads its variables once at start-up through an
// EnvReader, which collects every problem and reports them together instead of failing on the first.

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(component: string, problems: string[]) {
    super(`${component}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Source = Record<string, string | undefined>;

export class EnvReader {
  readonly #source: Source;
  readonly #component: string;
  readonly #problems: string[] = [];

  constructor(component: string, source: Source = process.env) {
    this.#component = component;
    this.#source = source;
  }

  #raw(name: string): string | undefined {
    const value = this.#source[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  }

  #fail<T>(name: string, value: string, expected: string, fallback: T): T {
    this.#problems.push(`${name}=${JSON.stringify(value)}: expected ${expected}`);
    return fallback;
  }

  string(name: string, fallback: string): string {
    return this.#raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.#raw(name);
  }

  /** An integer within [min, max]. */
  int(
    name: string,
    fallback: number,
    { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
  ): number {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      return this.#fail(name, raw, `an integer from ${min} to ${max}`, fallback);
    }
    return value;
  }

  /** A non-negative decimal number within [min, max]. */
  number(name: string, fallback: number, { min = 0, max = Number.MAX_VALUE } = {}): number {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      return this.#fail(name, raw, `a number from ${min} to ${max}`, fallback);
    }
    return value;
  }

  /** A TCP port; 0 means "pick a free one" where allowZero is set. */
  port(name: string, fallback: number, { allowZero = false } = {}): number {
    return this.int(name, fallback, { min: allowZero ? 0 : 1, max: 65535 });
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const lower = raw.toLowerCase();
    if (lower === "true" || lower === "1" || lower === "yes") return true;
    if (lower === "false" || lower === "0" || lower === "no") return false;
    return this.#fail(name, raw, "true or false", fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    return this.#fail(name, raw, `one of ${allowed.join(", ")}`, fallback);
  }

  /** Records a problem found by a cross-field check. */
  problem(message: string): void {
    this.#problems.push(message);
  }

  /** Throws a ConfigError naming every bad variable, if there were any. */
  finish(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#component, this.#problems);
  }
}

/** Runs a component's config loader; a bad environment ends the process with exit code 2 and the message. */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    exitOnConfigError(error);
  }
}

/** A ConfigError stops the process with its message and exit code 2; anything else is rethrown. */
export function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
