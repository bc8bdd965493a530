// Properties of the router's host normalisation (router/host.ts), over generated Host headers:
// what any input may produce, and what valid and invalid hosts must produce.
import { isIPv6 } from "node:net";
import fc from "fast-check";
import t from "tap";
import { hostKey } from "../../router/host.ts";

const RUNS = { numRuns: 2000 };

/** Flips the case of ASCII letters only (Unicode case mapping can turn "ſ" into "S"). */
function flipAsciiCase(text: string, mask: number[]): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const flip = (mask[i % Math.max(1, mask.length)] ?? 0) === 1;
    out += flip && /[a-z]/.test(c) ? c.toUpperCase() : flip && /[A-Z]/.test(c) ? c.toLowerCase() : c;
  }
  return out;
}

// A DNS label as routing accepts it: letters, digits, underscores, inner hyphens, 1–63 chars.
const label = fc.stringMatching(/^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$/);
const hostName = fc
  .array(label, { minLength: 1, maxLength: 6 })
  .map((labels) => labels.join("."))
  .filter((name) => name.length <= 253);
const validHost = fc.oneof(hostName, fc.domain(), fc.ipV4());
const ipv6Literal = fc.ipV6().map((address) => `[${address}]`);
const port = fc.integer({ min: 0, max: 65535 });
const caseMask = fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 16 });
// Anything at all, including control characters, lone surrogates and very long strings.
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(..."aZ09._-:[]%@ \t\u0000.") }),
);

/** What a key (the output) must look like: no port, no trailing dot, no upper case letters. */
function isWellFormedKey(key: string): boolean {
  if (key.startsWith("[")) return key.endsWith("]") && isIPv6(key.slice(1, -1)) && key === key.toLowerCase();
  return (
    key.length >= 1 &&
    key.length <= 253 &&
    !key.endsWith(".") &&
    !key.includes(":") &&
    key === key.toLowerCase() &&
    key.split(".").every((part) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(part))
  );
}

t.test("never throws, and any key it returns is well formed and its own key", async (t) => {
  fc.assert(
    fc.property(fc.oneof(anyText, validHost, ipv6Literal), (input) => {
      const key = hostKey(input);
      if (key === undefined) return true;
      return isWellFormedKey(key) && hostKey(key) === key;
    }),
    RUNS,
  );
  t.pass("held for every generated input");
});

t.test("idempotent: the key of a key is the key", async (t) => {
  fc.assert(
    fc.property(
      fc.oneof(
        anyText,
        validHost.map((h) => `${h}.`),
        ipv6Literal,
      ),
      (input) => {
        const key = hostKey(input);
        return key === undefined || hostKey(key) === key;
      },
    ),
    RUNS,
  );
  t.pass("held");
});

t.test("case-insensitive: ASCII case changes never change the key", async (t) => {
  fc.assert(
    fc.property(fc.oneof(validHost, ipv6Literal, anyText), caseMask, (input, mask) => {
      return hostKey(flipAsciiCase(input, mask)) === hostKey(input);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(validHost, (host) => hostKey(host.toUpperCase()) === host.toLowerCase()),
    RUNS,
  );
  t.pass("held");
});

t.test("a valid host is accepted; its port and one trailing dot are stripped", async (t) => {
  fc.assert(
    fc.property(validHost, port, fc.boolean(), caseMask, (host, p, dot, mask) => {
      const expected = host.toLowerCase();
      const written = flipAsciiCase(`${host}${dot ? "." : ""}`, mask);
      return (
        hostKey(written) === expected &&
        hostKey(`${written}:${p}`) === expected &&
        hostKey(`${host}:${String(p).padStart(5, "0")}`) === expected
      );
    }),
    RUNS,
  );
  fc.assert(
    fc.property(ipv6Literal, port, (literal, p) => {
      const expected = literal.toLowerCase();
      return hostKey(literal) === expected && hostKey(`${literal}:${p}`) === expected;
    }),
    RUNS,
  );
  t.pass("held");
});

t.test("invalid hosts are refused", async (t) => {
  const refused = (input: string) => hostKey(input) === undefined;
  // A character outside letters, digits, '.', '-', '_' anywhere in the name.
  const badChar = fc
    .string({ unit: "binary", minLength: 1, maxLength: 3 })
    .filter((s) => /[^A-Za-z0-9._\-:[\]]/.test(s));
  fc.assert(
    fc.property(hostName, badChar, fc.nat(), (host, bad, at) => {
      const i = at % (host.length + 1);
      return refused(`${host.slice(0, i)}${bad}${host.slice(i)}`);
    }),
    RUNS,
  );
  // Empty labels, labels over 63 characters, hyphens at a label's edge, names over 253.
  fc.assert(
    fc.property(hostName, hostName, (a, b) => refused(`${a}..${b}`) && refused(`.${a}`)),
    RUNS,
  );
  fc.assert(
    fc.property(hostName, fc.integer({ min: 64, max: 200 }), (host, n) =>
      refused(`${"a".repeat(n)}.${host}`),
    ),
    RUNS,
  );
  fc.assert(
    fc.property(label, hostName, (l, host) => refused(`-${l}.${host}`) && refused(`${host}.${l}-`)),
    RUNS,
  );
  fc.assert(
    fc.property(hostName, (host) =>
      refused(`${host}.${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`),
    ),
    RUNS,
  );
  // Ports that are not ports.
  fc.assert(
    fc.property(
      validHost,
      fc.oneof(
        fc.integer({ min: 65536, max: 99999 }).map(String),
        fc.constant(""),
        fc.stringMatching(/^\d{6,8}$/),
        fc.stringMatching(/^[+-]\d{1,4}$/),
        fc.stringMatching(/^\d{1,3}[a-z ]$/),
      ),
      (host, p) => refused(`${host}:${p}`),
    ),
    RUNS,
  );
  // Brackets around something that is not an IPv6 address, or unbalanced.
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }).filter((s) => !isIPv6(s)),
      (inside) => refused(`[${inside}]`) && refused(`[${inside}]:80`),
    ),
    RUNS,
  );
  fc.assert(
    fc.property(fc.ipV6(), (address) => refused(`[${address}`) && refused(`${address}]`)),
    RUNS,
  );
  t.pass("held");
});
