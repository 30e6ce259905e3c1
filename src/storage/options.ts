// Storage.options -> mount(2) flags and data, as Kata's parse_mount_options: flag words set or
// clear MS_* bits, propagation words are applied by a second call, the rest is the filesystem's
// data string. "loop" is refused (Kata does too) and the data string must fit one page.
import { invalid } from "../errors.ts";
import { parseMountOptions, type ParsedMountOptions } from "../container/mount-options.ts";

/** Kata's MAX_MOUNT_PARAM_SIZE: the kernel copies at most one page of mount data. */
export const MAX_MOUNT_DATA = 4096;

export function parseStorageOptions(field: string, options: readonly string[]): ParsedMountOptions {
  for (const o of options) {
    if (o.trim() === "loop") throw invalid(`${field}: mount option "loop" is not supported`);
  }
  const parsed = parseMountOptions(options);
  if (parsed.data.length > MAX_MOUNT_DATA) throw invalid(`${field}: mount data is ${parsed.data.length} bytes, more than ${MAX_MOUNT_DATA}`);
  return parsed;
}

/** Kata's parse_options: the "key=value" entries (exactly one "=") as a map; others are skipped. */
export function keyValueOptions(options: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of options) {
    const parts = o.split("=");
    if (parts.length === 2) m.set(parts[0]!, parts[1]!);
  }
  return m;
}

/** A gid option (fsgid=N): a decimal uint32, else INVALID_ARGUMENT naming the option. */
export function parseGid(field: string, value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffff_ffff) throw invalid(`${field}: ${JSON.stringify(value)} is not a group id`);
  return Number(value);
}

/** mode=NNNN: octal permission bits. */
export function parseMode(field: string, value: string): number {
  if (!/^[0-7]{1,4}$/.test(value)) throw invalid(`${field}: mode ${JSON.stringify(value)} is not an octal mode`);
  return parseInt(value, 8);
}
