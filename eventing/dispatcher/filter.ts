import type { SubscriptionsFilter } from "../resources/manifest.ts";

// Trigger filters with Knative Eventing's semantics (pkg/eventfilter): each filter answers pass,
// fail or "no filter" (none), and a Trigger delivers every event that does not fail. Filters are
// compiled once per Trigger into plain functions over the event's attributes.

export type FilterResult = "pass" | "fail" | "none";
/** An event's context attributes and extensions, every value as a string (the binary-mode form). */
export type EventAttributes = Readonly<Record<string, string>>;
export type EventFilter = (event: EventAttributes) => FilterResult;

/**
 * Attributes every CloudEvent has, in Knative's lookup: an unset one reads as "" instead of being
 * missing. Extensions are found only when set.
 */
const STANDARD = new Set([
  "specversion",
  "type",
  "source",
  "subject",
  "id",
  "time",
  "dataschema",
  "schemaurl",
  "datacontenttype",
  "datamediatype",
  "datacontentencoding",
]);

/** An attribute's value, or undefined when the event does not have it (Knative's LookupAttribute). */
export function lookupAttribute(event: EventAttributes, name: string): string | undefined {
  if (name === "schemaurl") return event.dataschema ?? "";
  if (name === "datamediatype") return (event.datacontenttype ?? "").split(";", 1)[0].trim();
  if (Object.hasOwn(event, name)) return event[name];
  return STANDARD.has(name) ? "" : undefined;
}

/**
 * Trigger.spec.filter.attributes: every attribute must exist and equal its value; an empty value
 * means "any value", but the attribute must still be set (non-empty).
 */
export function attributesFilter(attributes: Readonly<Record<string, string>>): EventFilter {
  const entries = Object.entries(attributes);
  return (event) => {
    for (const [name, wanted] of entries) {
      const value = lookupAttribute(event, name);
      if (value === undefined || (wanted === "" && value === "")) return "fail";
      if (wanted !== "" && wanted !== value) return "fail";
    }
    return "pass";
  };
}

/** exact: the attribute equals the value. An empty name or value is no filter (Knative's webhook refuses it). */
export function exactFilter(attributes: Readonly<Record<string, string>>): EventFilter {
  if (invalid(attributes)) return () => "none";
  return attributesFilter(attributes);
}

export function prefixFilter(attributes: Readonly<Record<string, string>>): EventFilter {
  return stringFilter(attributes, (value, wanted) => value.startsWith(wanted));
}

export function suffixFilter(attributes: Readonly<Record<string, string>>): EventFilter {
  return stringFilter(attributes, (value, wanted) => value.endsWith(wanted));
}

function stringFilter(
  attributes: Readonly<Record<string, string>>,
  test: (value: string, wanted: string) => boolean,
): EventFilter {
  if (invalid(attributes)) return () => "none";
  const entries = Object.entries(attributes);
  return (event) => {
    for (const [name, wanted] of entries) {
      const value = lookupAttribute(event, name);
      if (value === undefined || !test(value, wanted)) return "fail";
    }
    return "pass";
  };
}

function invalid(attributes: Readonly<Record<string, string>>): boolean {
  return Object.entries(attributes).some(([name, value]) => name === "" || value === "");
}

/** Both results together: "none" leaves the other as it is. */
export function and(x: FilterResult, y: FilterResult): FilterResult {
  if (x === "none") return y;
  if (y === "none") return x;
  return x === "pass" && y === "pass" ? "pass" : "fail";
}

/** Either result: "none" leaves the other as it is. */
export function or(x: FilterResult, y: FilterResult): FilterResult {
  if (x === "none") return y;
  if (y === "none") return x;
  return x === "pass" || y === "pass" ? "pass" : "fail";
}

/** all: fails as soon as one fails; no filters at all is no filter. */
export function allFilter(filters: readonly EventFilter[]): EventFilter {
  if (filters.length === 1) return filters[0];
  return (event) => {
    let result: FilterResult = "none";
    for (const filter of filters) {
      result = and(result, filter(event));
      if (result === "fail") return "fail";
    }
    return result;
  };
}

/** any: passes as soon as one passes; no filters at all is no filter. */
export function anyFilter(filters: readonly EventFilter[]): EventFilter {
  return (event) => {
    let result: FilterResult = "none";
    for (const filter of filters) {
      result = or(result, filter(event));
      if (result === "pass") return "pass";
    }
    return result;
  };
}

/** not: pass and fail swap; no filter stays no filter. */
export function notFilter(filter: EventFilter): EventFilter {
  return (event) => {
    const result = filter(event);
    return result === "pass" ? "fail" : result === "fail" ? "pass" : "none";
  };
}

/** One filter of the Subscriptions API dialect. A filter with no operator is no filter. */
export function dialectFilter(filter: SubscriptionsFilter): EventFilter {
  if (filter.exact && Object.keys(filter.exact).length > 0) return exactFilter(filter.exact);
  if (filter.prefix && Object.keys(filter.prefix).length > 0) return prefixFilter(filter.prefix);
  if (filter.suffix && Object.keys(filter.suffix).length > 0) return suffixFilter(filter.suffix);
  if (filter.all && filter.all.length > 0) return allFilter(filter.all.map(dialectFilter));
  if (filter.any && filter.any.length > 0) return anyFilter(filter.any.map(dialectFilter));
  if (filter.not) return notFilter(dialectFilter(filter.not));
  return () => "none";
}

/**
 * A Trigger's filter, as Knative's broker applies it: `filters` when present (then `filter` is
 * ignored), else `filter.attributes`; with neither, every event passes.
 */
export function triggerFilter(
  filter: { attributes?: Readonly<Record<string, string>> } | undefined,
  filters: readonly SubscriptionsFilter[] | undefined,
): (event: EventAttributes) => boolean {
  let compiled: EventFilter;
  if (filters && filters.length > 0) compiled = allFilter(filters.map(dialectFilter));
  else if (filter?.attributes && Object.keys(filter.attributes).length > 0)
    compiled = attributesFilter(filter.attributes);
  else return () => true;
  return (event) => compiled(event) !== "fail";
}
