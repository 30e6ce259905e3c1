// The C launcher's sources keep the properties its build relies on: no system header (the child
// runs without libc; every number is spelled out in launch/), one header per architecture.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dir, "../../src/sys/native/launch");
const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.[ch]$/.test(f));

describe("launcher sources", () => {
  test("only the project's own headers are included", () => {
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const includes = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => /^\s*#\s*include/.test(l));
      for (const line of includes) expect(`${f}: ${line}`).toMatch(/^[^:]+: #include "[a-z0-9_/]+\.h"$/);
    }
  });
  test("syscall numbers live only in the architecture header", () => {
    for (const f of files.filter((f) => !f.startsWith("arch/"))) {
      expect(`${f}: ${/\bNR_\w+\s*=\s*\d/.test(readFileSync(join(dir, f), "utf8"))}`).toBe(`${f}: false`);
    }
    expect(readFileSync(join(dir, "arch/x86_64.h"), "utf8")).toMatch(/NR_execveat = 322/);
  });
});
