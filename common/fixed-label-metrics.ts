import type { Registry } from "prom-client";

// Metrics counted in plain numbers on the request path and handed to prom-client only at scrape
// time. prom-client's own observe()/inc() validate and hash their labels on every call, which
// shows on the hot path. A queue-proxy serves one revision, so its labels are fixed for the life
// of the process (the FixedLabel* classes); the router keeps one set of counts per revision and
// reports them all through one SeriesMetric.

type Labels = Record<string, string>;
export interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
type MetricType = "counter" | "gauge" | "histogram";
interface Collected {
  name: string;
  help: string;
  type: MetricType;
  values: Value[];
  aggregator: "sum";
}

/** Counts by HTTP status code. */
export class CodeCounts {
  readonly #byCode = new Map<number, number>();

  inc(code: number): void {
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  collect(labels: Labels, out: Value[]): void {
    for (const [code, value] of this.#byCode) out.push({ labels: { ...labels, code: String(code) }, value });
  }
}

/** A Prometheus histogram's buckets, sum and count. */
export class HistogramCounts {
  readonly #bounds: number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(buckets: readonly number[]) {
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

  collect(name: string, labels: Labels, out: Value[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i];
      out.push({
        labels: { ...labels, le: String(this.#bounds[i]) },
        value: cumulative,
        metricName: `${name}_bucket`,
      });
    }
    out.push({ labels: { ...labels, le: "+Inf" }, value: this.#count, metricName: `${name}_bucket` });
    out.push({ labels, value: this.#sum, metricName: `${name}_sum` });
    out.push({ labels, value: this.#count, metricName: `${name}_count` });
  }
}

/** A metric registered with prom-client whose values are produced at scrape time. */
export class SeriesMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly #collect: (out: Value[]) => void;

  constructor(
    registry: Registry,
    name: string,
    help: string,
    type: MetricType,
    collect: (out: Value[]) => void,
  ) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#collect = collect;
    registry.registerMetric(this as never);
  }

  async get(): Promise<Collected> {
    const values: Value[] = [];
    this.#collect(values);
    return { name: this.name, help: this.help, type: this.type, aggregator: "sum", values };
  }
}

export class FixedLabelCounter {
  #count = 0;

  constructor(registry: Registry, name: string, help: string, labels: Labels) {
    new SeriesMetric(registry, name, help, "counter", (out) => out.push({ labels, value: this.#count }));
  }

  inc(): void {
    this.#count++;
  }
}

/** A counter with one extra label, the HTTP status code. */
export class StatusCodeCounter {
  readonly #counts = new CodeCounts();

  constructor(registry: Registry, name: string, help: string, labels: Labels) {
    new SeriesMetric(registry, name, help, "counter", (out) => this.#counts.collect(labels, out));
  }

  inc(code: number): void {
    this.#counts.inc(code);
  }
}

export class FixedLabelHistogram {
  readonly #counts: HistogramCounts;

  constructor(registry: Registry, name: string, help: string, labels: Labels, buckets: number[]) {
    this.#counts = new HistogramCounts(buckets);
    new SeriesMetric(registry, name, help, "histogram", (out) => this.#counts.collect(name, labels, out));
  }

  observe(value: number): void {
    this.#counts.observe(value);
  }
}
