// The block list: words (BLOCKED_WORDS, comma-separated) that keep a comment off the screen.
// Whole words, case-insensitive, Unicode-aware: "Spoiler!" is blocked by "spoiler", "spoilers"
// and "unspoilered" are not (add them if they should be). Pure.

export type BlockList = ReadonlySet<string>;

/** BLOCKED_WORDS → the list; throws naming the entry that is not a word. */
export function parseBlockList(value: string | undefined): BlockList {
  const words = new Set<string>();
  for (const entry of (value ?? "").split(",")) {
    const word = entry.trim().toLowerCase();
    if (word === "") continue;
    if (!/^[\p{L}\p{N}'-]+$/u.test(word))
      throw new Error(`BLOCKED_WORDS: "${entry.trim()}" is not a word (letters, digits, ' and - only)`);
    words.add(word);
  }
  return words;
}

/** The first blocked word in `text`, or undefined when it may be shown. */
export function blockedWord(text: string, list: BlockList): string | undefined {
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) if (list.has(word)) return word;
  return undefined;
}
