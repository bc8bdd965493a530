import { isIPv6 } from "node:net";

/**
 * The route key of a Host header (or HTTP/2 :authority): lower case, without the port and without
 * a trailing dot. Returns undefined for a value that is not a host name or address, which the
 * router answers with 400.
 */
export function hostKey(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return undefined;
  if (host.charCodeAt(0) === 91 /* [ */) {
    // IPv6 literal: [::1] or [::1]:8080
    const close = host.indexOf("]");
    if (close === -1) return undefined;
    if (close + 1 < host.length && !isPort(host, close + 1)) return undefined;
    return isIPv6(host.slice(1, close)) ? host.slice(0, close + 1).toLowerCase() : undefined;
  }
  let end = host.length;
  const colon = host.lastIndexOf(":");
  if (colon !== -1) {
    if (!isPort(host, colon)) return undefined;
    end = colon;
  }
  if (host.charCodeAt(end - 1) === 46 /* . */) end--;
  if (!isHostName(host, end)) return undefined;
  const name = end === host.length ? host : host.slice(0, end);
  return name.toLowerCase();
}

/** `:` at `at` followed by 1–5 digits, up to 65535, to the end of `text`. */
function isPort(text: string, at: number): boolean {
  if (text.charCodeAt(at) !== 58 /* : */) return false;
  const digits = text.length - at - 1;
  if (digits < 1 || digits > 5) return false;
  let value = 0;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    value = value * 10 + (c - 48);
  }
  return value <= 65535;
}

/**
 * Whether text[0, end) is a host name (RFC 1123, plus underscores as found in practice; IPv4
 * addresses are names of digit labels): 1–253 characters of dot-separated labels of 1–63 letters,
 * digits, hyphens and underscores, no label starting or ending with a hyphen.
 */
function isHostName(text: string, end: number): boolean {
  if (end < 1 || end > 253) return false;
  let labelStart = 0;
  for (let i = 0; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46 /* . */) {
      const length = i - labelStart;
      if (length < 1 || length > 63) return false;
      if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45 /* - */) return false;
      labelStart = i + 1;
    } else if (
      !(
        (c >= 97 && c <= 122) || // a-z
        (c >= 65 && c <= 90) || // A-Z
        (c >= 48 && c <= 57) || // 0-9
        c === 45 || // -
        c === 95 // _
      )
    ) {
      return false;
    }
  }
  return true;
}
