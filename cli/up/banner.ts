import type { DataPlaneState } from "../../common/state.ts";

export interface BannerFacts {
  files: string[];
  autoscalerUrl: string;
  activatorUrl: string;
  routerUrl: string;
  state: DataPlaneState;
}

/** What `sluice up` prints once everything is ready: where things are and what to try. */
export function bannerText({ files, autoscalerUrl, activatorUrl, routerUrl, state }: BannerFacts): string {
  const services = Object.values(state.services).sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  const lines = [
    "",
    `sluice is up: ${services.length} service${services.length === 1 ? "" : "s"} from ${files.join(", ")}`,
    "",
    `  router        ${routerUrl}`,
    `  status page   ${autoscalerUrl}/`,
    `  autoscaler    ${autoscalerUrl}   (sluice status, sluice logs, sluice apply -f …)`,
    `  activator     ${activatorUrl}`,
    "",
    "Try:",
  ];
  for (const service of services) {
    const split = service.traffic
      .filter((t) => t.percent > 0)
      .map((t) => `${t.revision} ${t.percent}%`)
      .join(", ");
    lines.push(`  curl -H 'Host: ${service.hosts[0]}' ${routerUrl}/      # ${service.name}: ${split}`);
    for (const [tag, { hosts, revision }] of Object.entries(service.tags)) {
      lines.push(`  curl -H 'Host: ${hosts[0]}' ${routerUrl}/      # tag ${tag} → ${revision}`);
    }
  }
  lines.push(
    "",
    "Services start at zero pods: the first request starts one (watch it on the status page).",
    "Ctrl-C stops everything.",
    "",
  );
  return lines.join("\n");
}

export function printBanner(facts: BannerFacts): void {
  console.log(bannerText(facts));
}
