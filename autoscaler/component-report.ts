import { COMPONENT_STATES, type ComponentExit, type ComponentStatus } from "../common/status.ts";

/**
 * Checks the body of PUT /v1/components, `{"components": ComponentStatus[]}` from `sluice up`,
 * naming the first problem with its path ("components[1].restarts: expected an integer >= 0").
 * Returns fresh objects with the known fields only: the report is shown as is on /v1/status, so
 * nothing else it carries is kept. Pure.
 */
export function parseComponentReport(body: unknown): ComponentStatus[] | string {
  if (!isObject(body)) return "body: expected a JSON object";
  const { components } = body;
  if (!Array.isArray(components)) return "components: expected an array";
  const parsed: ComponentStatus[] = [];
  const names = new Set<string>();
  for (const [index, entry] of components.entries()) {
    const component = parseComponent(entry, `components[${index}]`);
    if (typeof component === "string") return component;
    if (names.has(component.name))
      return `components[${index}].name: ${JSON.stringify(component.name)} appears twice`;
    names.add(component.name);
    parsed.push(component);
  }
  return parsed;
}

function parseComponent(entry: unknown, at: string): ComponentStatus | string {
  if (!isObject(entry)) return `${at}: expected an object`;
  const { name, state, pid, ports, restarts, startedAt, lastExit } = entry;
  if (typeof name !== "string" || name === "") return `${at}.name: expected a non-empty string`;
  if (!COMPONENT_STATES.includes(state as never))
    return `${at}.state: expected one of ${COMPONENT_STATES.join(", ")}`;
  if (pid !== undefined && !(Number.isSafeInteger(pid) && (pid as number) > 0))
    return `${at}.pid: expected a process id (an integer > 0) or no pid`;
  if (!isObject(ports)) return `${at}.ports: expected an object of port numbers`;
  for (const [key, port] of Object.entries(ports)) {
    if (!(Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65535))
      return `${at}.ports.${key}: expected a port number (0–65535)`;
  }
  if (!isCount(restarts)) return `${at}.restarts: expected an integer >= 0`;
  if (!isTime(startedAt)) return `${at}.startedAt: expected an ISO 8601 time`;
  let exit: ComponentExit | undefined;
  if (lastExit !== undefined) {
    const parsedExit = parseExit(lastExit, `${at}.lastExit`);
    if (typeof parsedExit === "string") return parsedExit;
    exit = parsedExit;
  }
  return {
    name,
    state: state as ComponentStatus["state"],
    ...(pid !== undefined ? { pid: pid as number } : {}),
    ports: { ...(ports as Record<string, number>) },
    restarts,
    startedAt,
    ...(exit ? { lastExit: exit } : {}),
  };
}

function parseExit(value: unknown, at: string): ComponentExit | string {
  if (!isObject(value)) return `${at}: expected an object or no lastExit`;
  const { code, at: exitedAt, ranForMs, lastLines } = value;
  if (typeof code !== "string" || code === "")
    return `${at}.code: expected an exit code or signal name as a string`;
  if (!isTime(exitedAt)) return `${at}.at: expected an ISO 8601 time`;
  if (typeof ranForMs !== "number" || !Number.isFinite(ranForMs) || ranForMs < 0)
    return `${at}.ranForMs: expected a number >= 0`;
  if (!Array.isArray(lastLines)) return `${at}.lastLines: expected an array of strings`;
  const bad = lastLines.findIndex((line) => typeof line !== "string");
  if (bad >= 0) return `${at}.lastLines[${bad}]: expected a string`;
  return { code, at: exitedAt, ranForMs, lastLines: [...(lastLines as string[])] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isTime(value: unknown): value is string {
  return typeof value === "string" && value !== "" && !Number.isNaN(Date.parse(value));
}
