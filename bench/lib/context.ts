// What every scenario gets: the mode, a private work directory, the binaries under test, and a
// progress log on stderr (stdout carries only the final table).
import type { GoPeers } from "./go-build.ts";

export interface BenchContext {
  quick: boolean;
  /** Private scratch directory under test/.work/bench (git-ignored). */
  work: string;
  agentBin: string;
  go: GoPeers;
  /** Shared busybox root filesystem (absolute path). */
  rootfs: string;
  progress(msg: string): void;
}

/** Picks the quick or the full value of a knob. */
export const pick = <T>(ctx: BenchContext, quick: T, full: T): T => (ctx.quick ? quick : full);

export const MiB = 1 << 20;
export const GiB = 1 << 30;
