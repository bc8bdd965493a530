/** A Knative-shaped status condition (knative.dev/pkg apis.Condition, without severity). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  /** RFC 3339: when this condition last changed (status, reason or message). */
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime">;

/**
 * Stamps conditions with their transition time: the previous one's when nothing of the condition
 * changed (so a status written again is byte-equal and the reconciler can skip the write), `now`
 * otherwise. Empty reasons and messages are left out.
 */
export function stampConditions(
  next: readonly ConditionInput[],
  previous: readonly Condition[] | undefined,
  now: Date,
): Condition[] {
  return next.map((condition) => {
    const clean: ConditionInput = { type: condition.type, status: condition.status };
    if (condition.reason) clean.reason = condition.reason;
    if (condition.message) clean.message = condition.message;
    const before = previous?.find((old) => old.type === condition.type);
    const same =
      before !== undefined &&
      before.status === clean.status &&
      (before.reason ?? "") === (clean.reason ?? "") &&
      (before.message ?? "") === (clean.message ?? "");
    return { ...clean, lastTransitionTime: same ? before.lastTransitionTime : rfc3339(now) };
  });
}

/** Kubernetes' metav1.Time: RFC 3339 in UTC, whole seconds. */
export function rfc3339(time: Date): string {
  return `${time.toISOString().slice(0, 19)}Z`;
}

/**
 * Ready from the conditions it summarises: False when one is False (its reason and message), else
 * Unknown when one is Unknown, else True.
 */
export function summarise(parts: readonly ConditionInput[]): ConditionInput {
  const failed = parts.find((part) => part.status === "False");
  if (failed) return { type: "Ready", status: "False", reason: failed.reason, message: failed.message };
  const unknown = parts.find((part) => part.status === "Unknown");
  if (unknown) return { type: "Ready", status: "Unknown", reason: unknown.reason, message: unknown.message };
  return { type: "Ready", status: "True" };
}
