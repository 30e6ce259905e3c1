// The proto-shaped Spec of CreateContainer -> OCI config.json (lowercase JSON keys), for the
// bundle's config.json that hooks read. Field names follow oci.proto's Go-style names; the
// mapping lowercases the leading capital run ("OOMScoreAdj" -> "oomScoreAdj", "UID" -> "uid").
const SPECIAL: Readonly<Record<string, string>> = {
  Version: "ociVersion",
  errnoret: "errnoRet",
  ClassID: "classID",
  IntelRdt: "intelRdt",
};

export function jsonKey(k: string): string {
  if (SPECIAL[k]) return SPECIAL[k];
  const m = /^[A-Z]+/.exec(k);
  if (!m) return k;
  const run = m[0];
  if (run.length === k.length) return k.toLowerCase();
  if (run.length === 1) return k[0]!.toLowerCase() + k.slice(1);
  // "OOMScore": the last capital starts the next word.
  return run.slice(0, -1).toLowerCase() + k.slice(run.length - 1);
}

function isLong(v: object): v is { low: number; high: number; unsigned: boolean; toString(): string } {
  return "low" in v && "high" in v && "unsigned" in v;
}

function convert(v: unknown, top: boolean): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map((x) => convert(x, false));
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (typeof v === "object") {
    if (isLong(v)) return Number(v.toString());
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const c = convert(x, false);
      if (c === undefined) continue;
      // Annotations keep their keys as they are.
      out[top && k === "Annotations" ? "annotations" : jsonKey(k)] = k === "Annotations" ? x : c;
    }
    return out;
  }
  return v;
}

export function specToOciJson(spec: object): Record<string, unknown> {
  return convert(spec, true) as Record<string, unknown>;
}
