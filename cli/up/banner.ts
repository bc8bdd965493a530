import type { DataPlaneState } from "../../common/state.ts";

/** What `sluice up` runs for Eventing, when the files hold Eventing resources. */
export interface EventingFacts {
  ingressUrl: string;
  adminUrl: string;
  natsUrl: string;
  /** The Kafka of local KafkaSources (cli/up/kafka-server.ts), and who runs it. */
  kafka?: { bootstrap: string; origin: string };
  /** Each Broker ("namespace/name") and its address (Knative's status.address.url). */
  brokers: { name: string; url: string }[];
  /** GitHubSources' webhook port, when there are some. */
  webhookUrl?: string;
}

export interface BannerFacts {
  files: string[];
  autoscalerUrl: string;
  activatorUrl: string;
  routerUrl: string;
  eventing?: EventingFacts;
  state: DataPlaneState;
  /** Services of earlier runs kept in the state directory's history, not running ("ns/name"). */
  inactive: string[];
  /** SLUICE_TOKEN, when set: the status page takes it from the address's fragment (not printed). */
  token?: string;
}

/** What `sluice up` prints once everything is ready: where things are and what to try. */
export function bannerText({
  files,
  autoscalerUrl,
  activatorUrl,
  routerUrl,
  eventing,
  state,
  inactive,
  token,
}: BannerFacts): string {
  const services = Object.values(state.services).sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  const lines = [
    "",
    `sluice is up: ${services.length} service${services.length === 1 ? "" : "s"} from ${files.join(", ")}`,
    "",
    `  router        ${routerUrl}`,
    // The token itself is never printed (output ends up in logs): the page takes it from the fragment.
    `  status page   ${autoscalerUrl}/${token === undefined ? "" : "#token=<your SLUICE_TOKEN>"}`,
    `  autoscaler    ${autoscalerUrl}   (sluice status, sluice logs, sluice apply -f …)`,
    `  activator     ${activatorUrl}`,
  ];
  if (eventing) {
    lines.push(
      `  eventing      ${eventing.adminUrl}   (GET/PUT /v1/eventing: sluice status, sluice apply -f …)`,
      `  nats          ${eventing.natsUrl}`,
    );
    if (eventing.kafka)
      lines.push(`  kafka         ${eventing.kafka.bootstrap}   (${eventing.kafka.origin})`);
    if (eventing.webhookUrl) lines.push(`  webhooks      ${eventing.webhookUrl}/{namespace}/{GitHubSource}`);
    for (const broker of eventing.brokers) lines.push(`  broker        ${broker.url}   (${broker.name})`);
  }
  lines.push("", "Try:");
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
  const broker = eventing?.brokers[0];
  if (broker)
    lines.push(
      `  curl -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /me' -H 'ce-type: hello' -d '{}' ${broker.url}`,
    );
  if (inactive.length > 0) {
    lines.push(
      "",
      `From earlier runs, kept inactive (no pods): ${inactive.join(", ")}. sluice apply -f runs one again.`,
    );
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
