import { formatPath, type LoadedDocument, type Problem } from "./load.ts";

/**
 * spec.traffic's rules beyond the schema: each entry names a revision or follows the latest, the
 * revisions exist, tags are unique and make valid host labels, percents sum to 100. Runs on what
 * the schema accepted; a check whose input the schema rejected is skipped rather than reported on
 * a value the user did not write. `known` is undefined when the service's name is unknown.
 */
export function validateTraffic(document: LoadedDocument, known: readonly string[] | undefined): Problem[] {
  const { draft, file } = document;
  const traffic = draft.spec?.traffic;
  if (traffic === undefined) return [];
  const problems: Problem[] = [];
  const problem = (path: (string | number)[], message: string) =>
    problems.push({ file, path: formatPath(path), ...document.locate(path), message });
  if (traffic.length === 0)
    problem(["spec", "traffic"], "must not be empty (leave it out for 100% to the latest revision)");
  const service = draft.metadata?.name;
  const creating = draft.spec?.template?.metadata?.name;
  const tags = new Map<string, number>();
  let sum = 0;
  let sumKnown = true;
  traffic.forEach((entry, index) => {
    const at = ["spec", "traffic", index];
    if (entry === undefined || document.rejected([...at, "percent"])) sumKnown = false;
    if (entry === undefined) return;
    const latest = entry.latestRevision === true;
    if (latest && entry.revisionName !== undefined)
      problem(at, "set either revisionName or latestRevision: true, not both");
    const target = document.rejected([...at, "revisionName"]) || document.rejected([...at, "latestRevision"]);
    if (!latest && entry.revisionName === undefined && !target)
      problem(at, "set revisionName or latestRevision: true");
    if (
      known !== undefined &&
      entry.revisionName !== undefined &&
      !known.includes(entry.revisionName) &&
      entry.revisionName !== creating
    ) {
      const available =
        known.length > 0 ? ` (existing: ${known.join(", ")})` : " (the service has no revisions yet)";
      problem([...at, "revisionName"], `revision ${entry.revisionName} does not exist${available}`);
    }
    if (entry.tag !== undefined) {
      const first = tags.get(entry.tag);
      if (first !== undefined)
        problem([...at, "tag"], `tag ${entry.tag} is already used by spec.traffic[${first}]`);
      else tags.set(entry.tag, index);
      if (service !== undefined && `${entry.tag}-${service}`.length > 63)
        problem([...at, "tag"], `tag host label ${entry.tag}-${service} is longer than 63 characters`);
    }
    sum += entry.percent ?? 0;
  });
  if (traffic.length > 0 && sumKnown && sum !== 100)
    problem(["spec", "traffic"], `percents sum to ${sum}, not 100`);
  return problems;
}
