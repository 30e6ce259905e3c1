// Small statistics for benchmark samples. Quantiles use the nearest-rank-below rule (the same as
// bench-client's Go side), so a p99 of 100 samples is the 99th smallest, not an interpolation.
export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  return s[Math.floor(q * (s.length - 1))]!;
}

export const median = (xs: readonly number[]) => quantile(xs, 0.5);
export const p99 = (xs: readonly number[]) => quantile(xs, 0.99);

/** Runs `rounds` rounds of the given steps, rotating which one goes first, so slow drifts of the
 *  machine (thermal, page cache, other tenants) hit every peer alike. */
export async function interleave(rounds: number, steps: (() => Promise<void>)[]): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]!();
  }
}
