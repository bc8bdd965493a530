import { BlockList, isIPv4, isIPv6 } from "node:net";

/** The peers whose X-Forwarded-* headers the router keeps (a load balancer in front of it). */
export interface TrustedProxies {
  /** Whether a connection's remote address is one of them. */
  trusts(address: string | undefined): boolean;
}

export const TRUST_NONE: TrustedProxies = { trusts: () => false };

// Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; match those against IPv4 entries.
const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Parses a comma- or space-separated list of addresses and CIDR ranges ("10.0.0.0/8, ::1,
 * fd00::/8") into a matcher; node's BlockList does the matching. Returns every bad entry as a
 * problem; an empty list trusts nobody.
 */
export function parseTrustedProxies(text: string | undefined): {
  proxies: TrustedProxies;
  problems: string[];
} {
  const entries = (text ?? "").split(/[\s,]+/).filter((entry) => entry !== "");
  if (entries.length === 0) return { proxies: TRUST_NONE, problems: [] };
  const list = new BlockList();
  const problems: string[] = [];
  for (const entry of entries) {
    const [address, bits, extra] = entry.split("/");
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
    const max = family === "ipv4" ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
    if (family === undefined || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      problems.push(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
      continue;
    }
    list.addSubnet(address, prefix, family);
  }
  return {
    proxies: {
      trusts(raw) {
        if (raw === undefined) return false;
        const mapped = MAPPED_V4.exec(raw);
        const address = mapped ? mapped[1] : raw;
        if (isIPv4(address)) return list.check(address, "ipv4");
        return isIPv6(address) && list.check(address, "ipv6");
      },
    },
    problems,
  };
}
