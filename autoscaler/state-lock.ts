import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { identify, processState } from "../platform/local/process-identity.ts";
import { formatLockHolder, lockVerdict, parseLockHolder } from "./state-lock-verdict.ts";

/** The lock file's name in the state directory. */
export const STATE_LOCK_FILE = "autoscaler.lock";

export type StateLock =
  /** Ours until release() (call it on exit: a lock left behind is taken over, but only once we are gone). */
  | { held: true; release(): void }
  /** A live autoscaler holds the state directory. */
  | { held: false; pid: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the autoscaler's exclusive lock on `stateDir`, before anything there is touched: the
 * lock file is created only if absent (O_EXCL), and one whose holder is gone is taken over.
 */
export async function lockStateDir(stateDir: string, { timeoutMs = 5_000 } = {}): Promise<StateLock> {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, STATE_LOCK_FILE);
  const mine = formatLockHolder(identify(process.pid));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, mine, { flag: "wx", mode: 0o644 });
      return { held: true, release: () => removeIfSame(path, mine) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const found = readLock(path);
    if (found === undefined) continue; // removed meanwhile: try again
    const holder = parseLockHolder(found.text);
    const verdict = lockVerdict(
      { holder, holderState: holder && processState(holder), ageMs: Date.now() - found.mtimeMs },
      process.pid,
    );
    if (verdict.action === "refuse") return { held: false, pid: verdict.pid };
    if (verdict.action === "wait" && Date.now() < deadline) {
      await sleep(50);
      continue;
    }
    takeOver(path, found.text);
  }
}

function readLock(path: string): { text: string; mtimeMs: number } | undefined {
  try {
    const { mtimeMs } = statSync(path);
    return { text: readFileSync(path, "utf8"), mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Removes a stale lock whose content was `stale`. It is moved aside first (atomic), so that of
 * two autoscalers taking over at once, the slower one cannot delete the lock the faster one has
 * just created: it finds another content in what it moved, and puts that lock back.
 */
function takeOver(path: string, stale: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // someone else took it over
    throw error;
  }
  let moved: string;
  try {
    moved = readFileSync(aside, "utf8");
  } catch {
    return; // gone already
  }
  // Another content (even an empty one, a lock being written): a live lock after all, put back
  // where it was; the caller's next look then refuses or waits.
  if (moved !== stale) renameSync(aside, path);
  else rmSync(aside, { force: true });
}

/** Removes the lock file if it is still the one we wrote. */
function removeIfSame(path: string, mine: string): void {
  try {
    if (readFileSync(path, "utf8") === mine) rmSync(path, { force: true });
  } catch {
    // already gone (state directory removed)
  }
}
