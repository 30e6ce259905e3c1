// The one error type for "the spec asks for something we cannot or will not do": validation,
// user and executable lookup, planning. The RPC layer turns it into INVALID_ARGUMENT; `field`
// (or RESOURCE_EXHAUSTED for counts over the caps) names the offending spec field (e.g. "Spec.Mounts[2].destination") for logs and tests.
export class SpecError extends Error {
  /** "resource-exhausted" when the spec asks for more than the agent accepts (spec-limits.ts). */
  constructor(readonly field: string, detail: string, readonly kind: "invalid" | "resource-exhausted" = "invalid") {
    super(`${field} ${detail}`);
    this.name = "SpecError";
  }
}

/** A value quoted for an error message: strings in JSON quotes, everything else as JSON. */
export function q(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Issue path items as valibot reports them (only the key matters here). */
type PathItem = { key?: unknown };

/** "Spec.Mounts[2].destination" from a base name and a valibot issue path. */
export function fieldOf(base: string, path: readonly PathItem[] | undefined): string {
  let out = base;
  for (const item of path ?? []) {
    const key = item.key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`;
    else out += `[${q(key)}]`;
  }
  return out;
}
