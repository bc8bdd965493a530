/** Keeps the last `capacity` lines of a process's output, for failure reports. */
export class LogTail {
  readonly #capacity: number;
  readonly #lines: string[] = [];
  #partial = "";

  constructor(capacity = 20) {
    this.#capacity = capacity;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + chunk.toString();
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#add(line);
  }

  #add(line: string): void {
    this.#lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
  }

  lines(): string[] {
    return this.#partial === "" ? [...this.#lines] : [...this.#lines, this.#partial].slice(-this.#capacity);
  }
}
