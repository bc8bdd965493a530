// CloudEvents attribute values in binary-mode headers (HTTP binding 1.0, 3.1.3.2): controls,
// space, '"', '%' and everything beyond ASCII are percent-encoded as UTF-8, so any string value
// survives a header. The same encoding carries attributes in JetStream message headers.

export function encodeHeaderValue(value: string): string {
  let out = "";
  let run = "";
  for (const char of value.toWellFormed()) {
    if (isUnsafe(char.codePointAt(0) ?? 0)) run += char;
    else {
      if (run !== "") out += encodeURIComponent(run);
      run = "";
      out += char;
    }
  }
  return run === "" ? out : out + encodeURIComponent(run);
}

/** What the binding says must be encoded: controls, space, '"', '%', and non-ASCII. */
function isUnsafe(code: number): boolean {
  return code <= 0x20 || code === 0x22 || code === 0x25 || code >= 0x7f;
}

/** The inverse; a malformed escape is kept as written rather than failing the event. */
export function decodeHeaderValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
