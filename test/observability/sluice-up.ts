// `sluice up` for the observability tests: files written to a temporary directory, free ports, a
// temporary state directory, fast autoscaling; only the URLs of its banner are read (the
// processes themselves are found through the autoscaler's discovery endpoint, which is the point).
import { launchSluiceUp } from "../helpers/sluice-up.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface UpUrls {
  /** The URL printed on the banner line that starts with `name` (router, prometheus, …). */
  url(name: string): string | undefined;
  routerUrl: string;
  autoscalerUrl: string;
  activatorUrl: string;
  output: () => string;
}

/** Runs `sluice up -f <files> <flags>` on free ports with `env`; resolves with its URLs once the banner is out. */
export async function sluiceUp(
  t: Teardown,
  files: string[],
  env: Record<string, string>,
  flags: string[] = [],
): Promise<UpUrls> {
  const { banner, output } = await launchSluiceUp(t, files, env, {
    flags,
    prefix: "sluice-observability-",
    stopGraceMs: 10_000,
  });
  const find = (name: string) =>
    new RegExp(`^\\s*${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`, "m").exec(banner)?.[1];
  const url = (name: string) => {
    const found = find(name);
    if (!found) throw new Error(`no ${name} URL in the banner:\n${banner}`);
    return found;
  };
  return {
    url: find,
    routerUrl: url("router"),
    autoscalerUrl: url("autoscaler"),
    activatorUrl: url("activator"),
    output,
  };
}
