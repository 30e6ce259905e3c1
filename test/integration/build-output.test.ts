// What build.ts puts into (and keeps out of) the compiled agent.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

test("the long package is replaced by its stub: none of long.js (and its WebAssembly module) is in the binary", () => {
  // A name only long.js defines; protobufjs asks for the package at load (src/protobuf-no-long.cjs).
  const marker = "fromBytesLE";
  expect(readFileSync(join(root, "node_modules/long/umd/index.js"), "utf8")).toContain(marker);
  expect(readFileSync(join(root, "node_modules/protobufjs/src/util/minimal.js"), "utf8")).toContain('require("long")');
  const binary = readFileSync(join(root, "dist/kata-agent"));
  expect(binary.includes(Buffer.from(marker))).toBe(false);
});
