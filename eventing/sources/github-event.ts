import type { StoredEvent } from "../cloudevent/event.ts";
import type { GitHubSourceRuntime } from "../resources/compile-sources.ts";

// A verified GitHub webhook delivery as the CloudEvent Knative's GitHubSource sends:
//   id       the X-GitHub-Delivery header
//   type     dev.knative.source.github.{X-GitHub-Event}
//   source   https://github.com/{ownerAndRepository}
//   subject  what the event is about (the PR or issue number, the compare range of a push…),
//            as eventing-github's SubjectAndExtensionsFromGitHubEvent picks it
//   owner, repository, sender, action   extensions, when the payload has them
//   data     the JSON payload, application/json
// Pure: the HTTP handler (github.ts) has checked the signature before this runs.

export const GITHUB_EVENT_PREFIX = "dev.knative.source.github";

export type GitHubConversion =
  | { event: StoredEvent }
  | { status: 400; problem: string }
  | { ignored: string };

type Json = Record<string, unknown>;

export function gitHubEvent(
  source: GitHubSourceRuntime,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Uint8Array,
): GitHubConversion {
  const eventType = header(headers, "x-github-event");
  const delivery = header(headers, "x-github-delivery");
  if (!eventType) return { status: 400, problem: "X-GitHub-Event header is missing" };
  if (!delivery) return { status: 400, problem: "X-GitHub-Delivery header is missing" };
  if (!/^[a-z_]+$/.test(eventType))
    return { status: 400, problem: `X-GitHub-Event "${eventType}" is not an event name` };
  const payload = payloadOf(header(headers, "content-type"), body);
  if ("problem" in payload) return { status: 400, problem: payload.problem };
  // GitHub pings every new webhook; it is answered but only sent on when asked for.
  if (!source.eventTypes.has(eventType))
    return {
      ignored: `"${eventType}" is not one of this source's eventTypes (${[...source.eventTypes].join(", ")})`,
    };
  const json = payload.json;
  const attributes: Record<string, string> = {
    specversion: "1.0",
    id: delivery,
    type: `${GITHUB_EVENT_PREFIX}.${eventType}`,
    source: `https://github.com/${source.ownerAndRepository}`,
    datacontenttype: "application/json",
  };
  const subject = subjectOf(eventType, json);
  if (subject) attributes.subject = subject;
  const repository = json.repository as Json | undefined;
  const extensions: Record<string, unknown> = {
    owner: (repository?.owner as Json | undefined)?.login ?? (json.organization as Json | undefined)?.login,
    repository: repository?.name,
    sender: (json.sender as Json | undefined)?.login,
    action: json.action,
  };
  for (const [name, value] of Object.entries(extensions))
    if (typeof value === "string" || typeof value === "number") attributes[name] = String(value);
  return { event: { attributes, data: payload.bytes } };
}

/** The subject for the common events; others go without one. */
function subjectOf(eventType: string, json: Json): string | undefined {
  const at = (...path: string[]): unknown =>
    path.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], json);
  const lastPath = (url: unknown) =>
    typeof url === "string" ? url.slice(url.lastIndexOf("/") + 1) : undefined;
  const value = (() => {
    switch (eventType) {
      case "push":
        return lastPath(at("compare"));
      case "pull_request":
        return at("pull_request", "number");
      case "issues":
        return at("issue", "number");
      case "issue_comment":
      case "commit_comment":
        return lastPath(at("comment", "html_url"));
      case "pull_request_review":
        return at("review", "id");
      case "pull_request_review_comment":
        return at("comment", "id");
      case "release":
        return at("release", "tag_name");
      case "create":
      case "delete":
        return at("ref_type");
      case "ping":
        return at("hook_id");
      case "status":
        return at("sha");
      case "label":
        return at("label", "name");
      case "check_run":
        return at("check_run", "id");
      case "check_suite":
        return at("check_suite", "id");
      case "deployment":
      case "deployment_status":
        return at("deployment", "id");
      case "fork":
        return at("forkee", "id");
      case "milestone":
        return at("milestone", "number");
      case "public":
      case "repository":
      case "team_add":
      case "watch":
        return at("repository", "id");
      default:
        return at("action");
    }
  })();
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

/** GitHub sends application/json, or a form with the JSON in its `payload` field. */
function payloadOf(
  contentType: string | undefined,
  body: Uint8Array,
): { json: Json; bytes: Uint8Array } | { problem: string } {
  const media = (contentType ?? "application/json").split(";", 1)[0].trim().toLowerCase();
  let text: string;
  if (media === "application/json") text = Buffer.from(body).toString("utf8");
  else if (media === "application/x-www-form-urlencoded") {
    const field = new URLSearchParams(Buffer.from(body).toString("utf8")).get("payload");
    if (field === null) return { problem: "form body without a payload field" };
    text = field;
  } else
    return {
      problem: `Content-Type ${media}: expected application/json or application/x-www-form-urlencoded`,
    };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `the payload is not JSON: ${(error as Error).message}` };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { problem: "the payload must be a JSON object" };
  return { json: json as Json, bytes: media === "application/json" ? body : Buffer.from(text, "utf8") };
}

function header(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
