import t from "tap";
import { WeightedPicker } from "../../router/weighted-picker.ts";

function picks(weights: Record<string, number>, count: number): string[] {
  const picker = new WeightedPicker(Object.entries(weights).map(([choice, weight]) => ({ choice, weight })));
  return Array.from({ length: count }, () => picker.pick() as string);
}

/** Counts per choice in every window of `size` consecutive picks. */
function everyWindow(sequence: string[], size: number): Map<string, number>[] {
  const windows: Map<string, number>[] = [];
  for (let start = 0; start + size <= sequence.length; start++) {
    const counts = new Map<string, number>();
    for (const choice of sequence.slice(start, start + size))
      counts.set(choice, (counts.get(choice) ?? 0) + 1);
    windows.push(counts);
  }
  return windows;
}

const splits: Record<string, number>[] = [
  { a: 80, b: 20 },
  { a: 99, b: 1 },
  { a: 50, b: 30, c: 20 },
  { a: 34, b: 33, c: 33 },
  { a: 1, b: 1, c: 98 },
];
for (const weights of splits) {
  t.test(`exact in every window of 100: ${JSON.stringify(weights)}`, async (t) => {
    const sequence = picks(weights, 1000);
    const windows = everyWindow(sequence, 100);
    const wrong = windows.filter((counts) =>
      Object.entries(weights).some(([choice, weight]) => (counts.get(choice) ?? 0) !== weight),
    );
    t.equal(wrong.length, 0, `all ${windows.length} windows match the percents`);
  });
}

t.test("spread out, not in runs: an 80/20 split never sends more than 4 in a row to the 80", async (t) => {
  const sequence = picks({ a: 80, b: 20 }, 200);
  let run = 0;
  let longest = 0;
  for (const choice of sequence) {
    run = choice === "a" ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  t.equal(longest, 4);
});

t.test("0 % targets get nothing; no targets → undefined; one target always", async (t) => {
  t.notOk(picks({ a: 100, b: 0 }, 500).includes("b"), "the 0 % target is never picked");
  t.equal(new WeightedPicker<string>([]).pick(), undefined);
  t.equal(new WeightedPicker([{ choice: "x", weight: 0 }]).pick(), undefined);
  t.same(new Set(picks({ only: 100 }, 50)), new Set(["only"]));
});
