// Where the CLI finds the eventing component's admin API (GET/PUT /v1/eventing): `--eventing URL`
// when given, else the autoscaler's own word — `sluice up` reports every process it runs, ports
// included, to the autoscaler (PUT /v1/components), so GET /v1/status names the eventing
// component's admin port, on the autoscaler's host (sluice up binds them all to 127.0.0.1). One
// address to know, the autoscaler's, as for everything else the CLI does.
import type { StatusSnapshot } from "../common/status.ts";
import { autoscalerBase } from "./autoscaler-url.ts";

/** The eventing admin URL from a status snapshot of the autoscaler at `base`; undefined when none runs. */
export function eventingFromStatus(
  base: string,
  snapshot: Pick<StatusSnapshot, "components">,
): string | undefined {
  const eventing = snapshot.components?.find((component) => component.name === "eventing");
  const port = eventing?.ports.adminPort;
  if (port === undefined || eventing?.state === "failed") return undefined;
  const url = new URL(base);
  url.port = String(port);
  return url.origin;
}

/** `--eventing URL` checked: the base without a trailing slash, or undefined when not http(s). */
export function eventingBase(text: string): string | undefined {
  return autoscalerBase(text);
}

/** "no eventing component runs …": what to do when apply has Eventing resources and nowhere to send them. */
export function noEventing(base: string): string {
  return `the sluice at ${base} runs no eventing component: start sluice up with a file that has a Broker (or give --eventing URL)`;
}
