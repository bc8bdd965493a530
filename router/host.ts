/**
 * The route key of a Host header (or HTTP/2 :authority): lower case, without the port and without
 * a trailing dot. Returns undefined for a value that is not a host name or address, which the
 * router answers with 400.
 */
export function hostKey(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return undefined;
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    // IPv6 literal: [::1] or [::1]:8080
    const close = host.indexOf("]");
    if (close === -1) return undefined;
    const rest = host.slice(close + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
    return host.slice(0, close + 1).toLowerCase();
  }
  const colon = host.lastIndexOf(":");
  if (colon !== -1) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined;
    end = colon;
  }
  if (host.charCodeAt(end - 1) === 46 /* . */) end--;
  const name = host.slice(0, end);
  return VALID_HOST.test(name) ? name.toLowerCase() : undefined;
}

// Letters, digits, hyphens, underscores and dots (RFC 1123 names, IPv4 addresses), 1–253 chars.
const VALID_HOST = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$/;
