// The Prometheus text exposition format (version 0.0.4), as the prometheus crate's TextEncoder
// that Kata's agent uses writes it: families sorted by name, each with HELP and TYPE lines, then
// its samples sorted by label values; label values and HELP text escaped.

export type MetricType = "counter" | "gauge";

export interface Sample {
  /** Label name/value pairs, in the family's label order. */
  labels: [string, string][];
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
const escapeLabel = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function compareLabels(a: Sample, b: Sample): number {
  for (let i = 0; i < Math.min(a.labels.length, b.labels.length); i++) {
    const x = a.labels[i]![1];
    const y = b.labels[i]![1];
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.labels.length - b.labels.length;
}

/** Encodes the families; throws on a bad metric or label name (our bug, not the guest's). */
export function encode(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!NAME.test(f.name)) throw new Error(`metrics: bad metric name ${JSON.stringify(f.name)}`);
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of [...f.samples].sort(compareLabels)) {
      for (const [k] of s.labels) if (!LABEL.test(k) || k.startsWith("__")) throw new Error(`metrics: bad label name ${JSON.stringify(k)}`);
      const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
      out.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** A family whose samples differ by one label ("item" in most of Kata's metrics). */
export function itemFamily(name: string, help: string, items: Iterable<[string, number]>, label = "item"): Family {
  return { name, help, type: "gauge", samples: [...items].map(([k, v]) => ({ labels: [[label, k]], value: v })) };
}
