import type { Registry } from "prom-client";

// Metrics whose labels are fixed for the life of the process (a queue-proxy serves one revision),
// counted in plain numbers and handed to prom-client only at scrape time. prom-client's own
// observe()/inc() validate and hash their labels on every call, which shows on the hot path.

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
interface Collected {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: Value[];
  aggregator: "sum";
}

abstract class FixedLabelMetric {
  readonly name: string;
  readonly help: string;
  readonly labels: Labels;

  constructor(registry: Registry, name: string, help: string, labels: Labels) {
    this.name = name;
    this.help = help;
    this.labels = labels;
    registry.registerMetric(this as never);
  }

  abstract get(): Promise<Collected>;
}

export class FixedLabelCounter extends FixedLabelMetric {
  #count = 0;

  inc(): void {
    this.#count++;
  }

  async get(): Promise<Collected> {
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      aggregator: "sum",
      values: [{ labels: this.labels, value: this.#count }],
    };
  }
}

/** A counter with one extra label, the HTTP status code. */
export class StatusCodeCounter extends FixedLabelMetric {
  readonly #byCode = new Map<number, number>();

  inc(code: number): void {
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  async get(): Promise<Collected> {
    const values = [...this.#byCode].map(([code, value]) => ({
      labels: { ...this.labels, code: String(code) },
      value,
    }));
    return { name: this.name, help: this.help, type: "counter", aggregator: "sum", values };
  }
}

export class FixedLabelHistogram extends FixedLabelMetric {
  readonly #bounds: number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(registry: Registry, name: string, help: string, labels: Labels, buckets: number[]) {
    super(registry, name, help, labels);
    this.#bounds = [...buckets].sort((a, b) => a - b);
    this.#counts = new Array(this.#bounds.length).fill(0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= this.#bounds[i]) {
        this.#counts[i]++;
        return;
      }
    }
  }

  async get(): Promise<Collected> {
    const values: Value[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i];
      values.push({
        labels: { ...this.labels, le: String(this.#bounds[i]) },
        value: cumulative,
        metricName: `${this.name}_bucket`,
      });
    }
    values.push({
      labels: { ...this.labels, le: "+Inf" },
      value: this.#count,
      metricName: `${this.name}_bucket`,
    });
    values.push({ labels: this.labels, value: this.#sum, metricName: `${this.name}_sum` });
    values.push({ labels: this.labels, value: this.#count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}
