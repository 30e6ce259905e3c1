// One row per measurement: our value, the anchor's (measured in the same run), their ratio, the
// target and whether it is met. Rendered as a fixed-width table for stdout and as JSON.
export type Better = "lower" | "higher";

export interface Target {
  /** "ratio": value/anchor compared with `limit`; "absolute": value compared with `limit`. */
  kind: "ratio" | "absolute";
  better: Better;
  limit: number;
}

export interface Row {
  id: string;
  what: string;
  unit: string;
  value: number | null;
  anchor: number | null;
  anchorName: string;
  target?: Target;
  /** Why the row has no value (a missing tool, a failed peer). */
  na?: string;
  note?: string;
  /** Anything else worth keeping in the JSON (per-step medians, raw rounds). */
  detail?: unknown;
}

export function ratio(r: Row): number | null {
  return r.value !== null && r.anchor !== null && r.anchor !== 0 ? r.value / r.anchor : null;
}

export function verdict(r: Row): "pass" | "miss" | "" {
  if (!r.target || r.value === null) return "";
  const x = r.target.kind === "ratio" ? ratio(r) : r.value;
  if (x === null || Number.isNaN(x)) return "";
  return (r.target.better === "lower" ? x <= r.target.limit : x >= r.target.limit) ? "pass" : "miss";
}

function num(x: number | null, unit = ""): string {
  if (x === null || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  const s = a >= 1000 ? x.toFixed(0) : a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : x.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

function targetText(t: Target | undefined, unit: string): string {
  if (!t) return "";
  const op = t.better === "lower" ? "≤" : "≥";
  return t.kind === "ratio" ? `${op} ${t.limit}×` : `${op} ${t.limit} ${unit}`;
}

export function tableLines(rows: readonly Row[]): string[] {
  const head = ["measurement", "ours", "anchor", "anchor is", "ratio", "target", "result"];
  const body = rows.map((r) =>
    r.value === null && r.na
      ? [r.what, `n/a (${r.na})`, "", "", "", targetText(r.target, r.unit), ""]
      : [r.what, num(r.value, r.unit), num(r.anchor, r.unit), r.anchorName, ratio(r) === null ? "-" : `${ratio(r)!.toFixed(2)}×`,
        targetText(r.target, r.unit), verdict(r)],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)];
}

export function toJson(r: Row): Record<string, unknown> {
  return { ...r, ratio: ratio(r), result: verdict(r) || null };
}
