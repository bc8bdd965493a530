// Tests that need a program besides Node (a browser, openssl, nginx) skip where it is missing on
// a developer's machine, but fail under CI=true: .ci/run installs every such program, so a test
// that skips there is a test that did not run.
import t from "tap";

/**
 * The `skip` option for a test needing `tool`: false when it was found; otherwise a reason to
 * skip, and under CI=true one failing assertion in its place.
 */
export function skipUnlessTool(tool: string, found: boolean, install: string): string | false {
  if (found) return false;
  const reason = `${tool} not found; install it with ${install}`;
  if (process.env.CI === "true") {
    t.fail(`${reason} (CI=true: .ci/run installs it, so a skip here is a failure)`);
  }
  return reason;
}
