// Preconditions of test suites. Locally a suite whose precondition is missing (not root, no Go,
// no QEMU, no cgroup v1 …) is skipped and says why; under CI=true the same gap is a failing test
// that names what is missing, because CI installs everything and a silent skip would hide a
// broken set-up.
import { test } from "bun:test";

export const inCI = process.env.CI === "true" || process.env.CI === "1";
export const isRoot = process.getuid?.() === 0;

/**
 * For `describe.skipIf(missing(...))`: true (skip) when a precondition is not met. Under CI it
 * also registers a failing test naming each missing precondition.
 */
export function missing(preconditions: Record<string, boolean>): boolean {
  const gaps = Object.entries(preconditions).filter(([, ok]) => !ok).map(([what]) => what);
  if (gaps.length === 0) return false;
  if (inCI) {
    test(`precondition: ${gaps.join(", ")}`, () => {
      throw new Error(`CI=true but missing: ${gaps.join(", ")} (.ci/run installs it; a suite may not skip in CI)`);
    });
  }
  return true;
}
