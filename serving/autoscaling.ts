import { parseDuration } from "../common/duration.ts";

/** The autoscaling annotations of a revision template, parsed, with Knative's defaults. */
export interface AutoscalingSpec {
  class: "kpa" | "hpa";
  metric: "concurrency" | "rps" | "cpu" | "memory";
  /** Per-pod target of the metric, before utilization. */
  target: number;
  /** 0–1: the share of `target` the autoscaler aims for. */
  targetUtilization: number;
  minScale: number;
  /** 0 = unbounded. */
  maxScale: number;
  initialScale: number;
  activationScale: number;
  scaleDownDelayMs: number;
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  /** -1 = the activator stays in the path; 0 = only at zero. */
  targetBurstCapacity: number;
  scaleToZeroRetentionMs: number;
  /** The raw sluice schedule, parsed by the autoscaler. */
  schedule?: string;
}

const KPA_CLASS = "kpa.autoscaling.knative.dev";
const HPA_CLASS = "hpa.autoscaling.knative.dev";
const PREFIX = "autoscaling.knative.dev/";
export const SCHEDULE_ANNOTATION = "autoscaling.sluice.dev/schedule";

const KNOWN = new Set([
  "class",
  "metric",
  "target",
  "target-utilization-percentage",
  "min-scale",
  "max-scale",
  "initial-scale",
  "activation-scale",
  "scale-down-delay",
  "window",
  "panic-window-percentage",
  "panic-threshold-percentage",
  "target-burst-capacity",
  "scale-to-zero-pod-retention-period",
  // Knative's older spellings, still accepted by Knative.
  "minScale",
  "maxScale",
  "initialScale",
]);

export interface AnnotationProblem {
  key: string;
  message: string;
  /** The key itself is wrong (an unknown annotation), not its value. */
  onKey?: boolean;
}

/**
 * Parses the autoscaling annotations; every bad value is reported with its key and the default is
 * used in its place (the caller rejects the manifest when there are problems).
 */
export function parseAutoscaling(
  annotations: Readonly<Record<string, string | undefined>> = {},
  containerConcurrency = 0,
): { spec: AutoscalingSpec; problems: AnnotationProblem[] } {
  const problems: AnnotationProblem[] = [];
  const get = (name: string, ...aliases: string[]) => {
    for (const key of [name, ...aliases]) {
      const value = annotations[PREFIX + key];
      if (value !== undefined) return { key: PREFIX + key, value: value.trim() };
    }
    return undefined;
  };
  const number = (
    name: string,
    fallback: number,
    check: (n: number) => string | undefined,
    ...aliases: string[]
  ) => {
    const found = get(name, ...aliases);
    if (!found) return fallback;
    const value = Number(found.value);
    const wrong = found.value === "" || !Number.isFinite(value) ? "expected a number" : check(value);
    if (wrong) {
      problems.push({ key: found.key, message: `${JSON.stringify(found.value)}: ${wrong}` });
      return fallback;
    }
    return value;
  };
  const integer = (min: number) => (n: number) =>
    Number.isInteger(n) && n >= min ? undefined : `expected an integer >= ${min}`;
  const between = (min: number, max: number) => (n: number) =>
    n >= min && n <= max ? undefined : `expected ${min} to ${max}`;
  const duration = (name: string, fallback: number, minMs: number, maxMs: number) => {
    const found = get(name);
    if (!found) return fallback;
    const ms = parseDuration(found.value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      problems.push({
        key: found.key,
        message: `${JSON.stringify(found.value)}: expected a duration from ${minMs / 1000}s to ${maxMs / 1000}s, like 30s or 2m`,
      });
      return fallback;
    }
    return ms;
  };

  for (const key of Object.keys(annotations)) {
    if (key.startsWith(PREFIX) && !KNOWN.has(key.slice(PREFIX.length))) {
      problems.push({ key, message: "unknown autoscaling annotation", onKey: true });
    }
  }

  const classValue = get("class")?.value ?? KPA_CLASS;
  if (classValue !== KPA_CLASS && classValue !== HPA_CLASS) {
    problems.push({
      key: `${PREFIX}class`,
      message: `${JSON.stringify(classValue)}: expected ${KPA_CLASS} or ${HPA_CLASS}`,
    });
  }
  const autoscalerClass = classValue === HPA_CLASS ? "hpa" : "kpa";
  const metricValue = get("metric")?.value ?? (autoscalerClass === "hpa" ? "cpu" : "concurrency");
  const metrics = autoscalerClass === "kpa" ? ["concurrency", "rps"] : ["cpu", "memory"];
  if (!metrics.includes(metricValue)) {
    problems.push({
      key: `${PREFIX}metric`,
      message: `${JSON.stringify(metricValue)}: expected ${metrics.join(" or ")} with the ${autoscalerClass} class`,
    });
  }
  const metric = (metrics.includes(metricValue) ? metricValue : metrics[0]) as AutoscalingSpec["metric"];

  // Knative: the concurrency target defaults to containerConcurrency when set (else 100), and a
  // target annotation may only lower it; rps defaults to 200.
  const defaultTarget =
    metric === "rps"
      ? 200
      : metric === "concurrency" && containerConcurrency > 0
        ? containerConcurrency
        : 100;
  let target = number("target", defaultTarget, (n) => (n >= 0.01 ? undefined : "expected a number >= 0.01"));
  if (metric === "concurrency" && containerConcurrency > 0) target = Math.min(target, containerConcurrency);

  const minScale = number("min-scale", 0, integer(0), "minScale");
  const maxScale = number("max-scale", 0, integer(0), "maxScale");
  if (maxScale > 0 && minScale > maxScale) {
    problems.push({
      key: `${PREFIX}min-scale`,
      message: `min-scale ${minScale} is above max-scale ${maxScale}`,
    });
  }
  const spec: AutoscalingSpec = {
    class: autoscalerClass,
    metric,
    target,
    targetUtilization: number("target-utilization-percentage", 70, between(1, 100)) / 100,
    minScale,
    maxScale,
    initialScale: number("initial-scale", 1, integer(0), "initialScale"),
    activationScale: number("activation-scale", 1, integer(1)),
    scaleDownDelayMs: duration("scale-down-delay", 0, 0, 3_600_000),
    stableWindowMs: duration("window", 60_000, 6_000, 3_600_000),
    panicWindowPercentage: number("panic-window-percentage", 10, between(1, 100)),
    panicThresholdPercentage: number("panic-threshold-percentage", 200, between(110, 1000)),
    targetBurstCapacity: number("target-burst-capacity", 211, (n) =>
      n === -1 || n >= 0 ? undefined : "expected -1 or a number >= 0",
    ),
    scaleToZeroRetentionMs: duration("scale-to-zero-pod-retention-period", 0, 0, 3_600_000),
    schedule: annotations[SCHEDULE_ANNOTATION],
  };
  return { spec, problems };
}
