import t from "tap";
import { sameHeaderName } from "../../common/http/header-name.ts";
import { HeaderNameFilter } from "../../common/http/header-name-filter.ts";

/** Every spelling of `name` with each ASCII letter upper or lower case (up to 2^6 of them). */
function casings(name: string): string[] {
  let out = [""];
  for (const c of name) {
    const upper = c.toUpperCase();
    out = out.flatMap((prefix) =>
      upper === c || out.length > 64 ? [prefix + c] : [prefix + c, prefix + upper],
    );
  }
  return out;
}

/** Names of token characters, 1–20 long, from a seeded generator (the same every run). */
function tokens(count: number): string[] {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_^`|~!#$%&'*+.";
  let seed = 42;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  return Array.from({ length: count }, () => {
    let name = "";
    for (let i = 0, n = 1 + (next() % 20); i < n; i++) name += chars[next() % chars.length];
    return name;
  });
}

t.test("sameHeaderName is toLowerCase() equality, without the copy", async (t) => {
  for (const name of casings("content-length")) t.ok(sameHeaderName(name, "content-length"), name);
  t.ok(sameHeaderName("Sluice_Tag^2", "sluice_tag^2"), "symbols that OR-ing 0x20 would change");
  t.notOk(sameHeaderName("host", "hos"), "lengths differ");
  t.notOk(sameHeaderName("hosT ", "host"));
  t.notOk(sameHeaderName("@", "`"), "only A–Z fold");
  t.notOk(sameHeaderName("\x0D", "-"), "a control character is not its 0x20 neighbour");
  t.notOk(sameHeaderName("\u00C0", "\u00E0"), "Latin-1 letters are not ASCII names");
  const lowerNames = ["host", "te", "x-a_b", "connection", "k-network-probe"];
  const names = [...tokens(2000), ...lowerNames.flatMap(casings)];
  const wrong = names.flatMap((name) =>
    lowerNames
      .filter((lower) => sameHeaderName(name, lower) !== (name.toLowerCase() === lower))
      .map((lower) => `${name} vs ${lower}`),
  );
  t.same(wrong, [], "as toLowerCase() === for 2,000 random tokens and every casing of the names");
});

t.test("HeaderNameFilter: a 'no' is never one of the names, in any case", async (t) => {
  const names = ["connection", "te", "transfer-encoding", "sluice-hop-auth", "host", "content-length"];
  const filter = new HeaderNameFilter(names);
  const spellings = names.flatMap(casings);
  t.same(
    spellings.filter((name) => !filter.mayBeOneOf(name)),
    [],
    "every casing of every name: maybe",
  );
  const no = tokens(5000).filter((name) => !filter.mayBeOneOf(name));
  t.same(
    no.filter((name) => names.includes(name.toLowerCase())),
    [],
    "no 'no' is one of the names",
  );
  t.ok(no.length > 4000, `most other names are a 'no' (${no.length} of 5000)`);
  t.notOk(filter.mayBeOneOf("User-Agent"), "same length as connection, another first letter");
  t.notOk(filter.mayBeOneOf("x".repeat(100)), "longer than any name");
  t.throws(() => new HeaderNameFilter([""]), /out of range/);
  t.throws(() => new HeaderNameFilter(["x".repeat(64)]), /out of range/);
});
