/** A host as a URL or a Host header writes it: an IPv6 address in brackets, anything else as is. */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
