// A Knative Service manifest as YAML text, for tests that apply, validate or refuse one. Each part
// is given as the test wants it written, so that positions the tests assert (file:line:column)
// stay where they are.

export interface ServiceYamlOptions {
  /** metadata.namespace, written only when given. */
  namespace?: string;
  /** spec.template.metadata.name, written only when given. */
  revisionName?: string;
  /** YAML lines under spec.template.metadata.annotations, as they are. */
  annotations?: string[];
  containerConcurrency?: number;
  timeoutSeconds?: number;
  /** The inside of the container's command flow list. */
  command?: string;
  /** The container's env: name to value, the value written as it is (quote it for a string). */
  env?: Record<string, string>;
  /** YAML lines after the template (a `  traffic:` block), as they are. */
  traffic?: string;
}

export function serviceYaml(
  name: string,
  {
    namespace,
    revisionName,
    annotations = [],
    containerConcurrency,
    timeoutSeconds,
    command = '"node", "app.ts"',
    env = {},
    traffic = "",
  }: ServiceYamlOptions = {},
): string {
  const lines = ["apiVersion: serving.knative.dev/v1", "kind: Service", "metadata:", `  name: ${name}`];
  if (namespace !== undefined) lines.push(`  namespace: ${namespace}`);
  lines.push("spec:", "  template:");
  if (revisionName !== undefined || annotations.length > 0) lines.push("    metadata:");
  if (revisionName !== undefined) lines.push(`      name: ${revisionName}`);
  if (annotations.length > 0)
    lines.push("      annotations:", ...annotations.map((line) => `        ${line}`));
  lines.push("    spec:");
  if (containerConcurrency !== undefined) lines.push(`      containerConcurrency: ${containerConcurrency}`);
  if (timeoutSeconds !== undefined) lines.push(`      timeoutSeconds: ${timeoutSeconds}`);
  lines.push("      containers:", `        - command: [${command}]`);
  const variables = Object.entries(env);
  if (variables.length > 0) {
    lines.push("          env:");
    for (const [key, value] of variables)
      lines.push(`            - name: ${key}`, `              value: ${value}`);
  }
  return `${lines.join("\n")}\n${traffic}`;
}

/** The traffic block that gives the latest revision all traffic under `tag`. */
export const taggedTraffic = (tag: string) =>
  `  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: ${tag}\n`;
