// A comment as a viewer posts it (POST /comments, JSON) and as it travels: Kafka record value,
// then the approved CloudEvent's data. Pure.

export const MAX_TEXT = 80;
export const COLORS = ["#ffffff", "#ffd166", "#06d6a0", "#4cc9f0", "#f72585", "#ff9f1c"] as const;

export interface Comment {
  id: string;
  text: string;
  color: string;
  /** The viewer who sent it: the Kafka record key, so one viewer's comments keep their order. */
  viewer: string;
  /** When the web service took it (ms since the epoch). */
  at: number;
}

/** A posted body → what a Comment needs besides id and time, or what is wrong with it. */
export function parsePosted(body: string): Omit<Comment, "id" | "at"> | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'expected JSON: {"text": "…", "viewer": "…", "color": "#ffffff"}';
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "expected a JSON object";
  const { text, viewer, color = COLORS[0] } = value as Record<string, unknown>;
  if (typeof text !== "string" || text.trim() === "") return "text: expected a non-empty string";
  if ([...text.trim()].length > MAX_TEXT) return `text: at most ${MAX_TEXT} characters`;
  if (typeof viewer !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(viewer))
    return "viewer: expected 1 to 64 letters, digits, _ or -";
  if (typeof color !== "string" || !(COLORS as readonly string[]).includes(color))
    return `color: expected one of ${COLORS.join(", ")}`;
  return { text: text.trim(), viewer, color };
}
