// A strict parser for the Prometheus text exposition format 0.0.4, for tests: it throws, naming
// the line, on anything a Prometheus server would reject or that the format forbids — bad metric
// or label names, bad escapes, unparsable values, a TYPE after the family's samples, a second
// HELP/TYPE, a family split into two groups, duplicate series, duplicate labels, a missing final
// newline — and also on counters that are negative or NaN.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface ParsedFamily {
  name: string;
  help?: string;
  type: string;
  samples: ParsedSample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<string, string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["_sum", "_count"] };

export class ExpositionError extends Error {}

function fail(line: number, msg: string): never {
  throw new ExpositionError(`line ${line}: ${msg}`);
}

/** Go's strconv.ParseFloat as Prometheus uses it (plus the Inf/NaN spellings). */
function parseValue(s: string, line: number): number {
  if (/^[+-]?(Inf|inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^(NaN|nan)$/.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) fail(line, `bad value ${JSON.stringify(s)}`);
  return Number(s);
}

function unescape(s: string, allowQuote: boolean, line: number): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === "\\") out += "\\";
    else if (n === "n") out += "\n";
    else if (n === '"' && allowQuote) out += '"';
    else fail(line, `bad escape \\${n ?? ""}`);
  }
  return out;
}

/** Parses `{a="x",b="y"}` starting at s[0] === "{"; returns the labels and the rest of the line. */
function parseLabels(s: string, line: number): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (s[i] === " " || s[i] === "\t") i++;
    if (s[i] === "}") return [labels, s.slice(i + 1)];
    const name = LABEL.exec(s.slice(i))?.[0];
    if (!name) fail(line, `bad label name at ${JSON.stringify(s.slice(i, i + 20))}`);
    if (name.startsWith("__")) fail(line, `reserved label name ${name}`);
    i += name.length;
    while (s[i] === " " || s[i] === "\t") i++;
    if (s[i] !== "=") fail(line, `expected = after label ${name}`);
    i++;
    while (s[i] === " " || s[i] === "\t") i++;
    if (s[i] !== '"') fail(line, `expected " to open the value of label ${name}`);
    let j = i + 1;
    let raw = "";
    for (;; j++) {
      if (j >= s.length) fail(line, `unterminated value of label ${name}`);
      if (s[j] === "\\") {
        raw += s[j]! + (s[j + 1] ?? "");
        j++;
        continue;
      }
      if (s[j] === '"') break;
      raw += s[j];
    }
    if (Object.hasOwn(labels, name)) fail(line, `label ${name} appears twice`);
    labels[name] = unescape(raw, true, line);
    i = j + 1;
    while (s[i] === " " || s[i] === "\t") i++;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") fail(line, `expected , or } after label ${name}`);
  }
}

function familyOf(sample: string, families: Map<string, ParsedFamily>): string {
  if (families.has(sample)) return sample;
  for (const [name, f] of families) {
    for (const suf of SUFFIXES[f.type] ?? []) if (sample === name + suf) return name;
  }
  return sample;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new ExpositionError("the last line has no newline");
  const families = new Map<string, ParsedFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const lines = text.split("\n");
  lines.pop();
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", samples: [] }));
    return f;
  };
  const enter = (name: string, n: number) => {
    if (current === name) return;
    if (finished.has(name)) fail(n, `metric family ${name} appears in two groups`);
    if (current !== undefined) finished.add(current);
    current = name;
  };
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!m) return; // an ordinary comment
      const [, kind, name, rest = ""] = m;
      if (!METRIC.test(name!) || METRIC.exec(name!)![0] !== name) fail(n, `bad metric name ${JSON.stringify(name)}`);
      enter(name!, n);
      const f = family(name!);
      if (kind === "HELP") {
        if (f.help !== undefined) fail(n, `second HELP for ${name}`);
        f.help = unescape(rest, false, n);
      } else {
        if (f.samples.length > 0) fail(n, `TYPE for ${name} after its samples`);
        if ((f as { typed?: boolean }).typed) fail(n, `second TYPE for ${name}`);
        if (!TYPES.has(rest.trim())) fail(n, `unknown type ${JSON.stringify(rest)}`);
        f.type = rest.trim();
        (f as { typed?: boolean }).typed = true;
      }
      return;
    }
    const name = METRIC.exec(raw)?.[0];
    if (!name) fail(n, `bad metric name at ${JSON.stringify(raw.slice(0, 30))}`);
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest, n);
    if (!/^[ \t]/.test(rest)) fail(n, `expected a space before the value of ${name}`);
    const parts = rest.trim().split(/[ \t]+/);
    if (parts.length > 2) fail(n, `trailing text after the value of ${name}`);
    const value = parseValue(parts[0]!, n);
    let timestamp: number | undefined;
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) fail(n, `bad timestamp ${JSON.stringify(parts[1])}`);
      timestamp = Number(parts[1]);
    }
    const fname = familyOf(name, families);
    enter(fname, n);
    const f = family(fname);
    if (f.type === "counter" && (Number.isNaN(value) || value < 0)) fail(n, `counter ${name} has value ${value}`);
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`;
    if (series.has(key)) fail(n, `duplicate series ${key}`);
    series.add(key);
    f.samples.push({ name, labels, value, timestamp });
  });
  return families;
}

/** Every family Kata's agent exports (src/agent/src/metrics.rs). */
export const KATA_FAMILIES = [
  "kata_agent_scrape_count", "kata_agent_threads", "kata_agent_total_time", "kata_agent_total_vm", "kata_agent_total_rss",
  "kata_agent_proc_status", "kata_agent_io_stat", "kata_agent_proc_stat", "kata_guest_load", "kata_guest_tasks",
  "kata_guest_cpu_time", "kata_guest_vm_stat", "kata_guest_netdev_stat", "kata_guest_diskstat", "kata_guest_meminfo",
  "kata_guest_filesystem_bytes", "kata_guest_filesystem_inodes",
];
