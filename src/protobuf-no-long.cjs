// What the compiled agent gets for `require("long")` (build.ts maps the name here).
// protobufjs/minimal looks for the `long` package when it loads, and long.js 5 compiles and
// instantiates a WebAssembly module at load for its 64-bit multiply and divide: ~0.25 MiB of idle
// anonymous memory (docs/PERFORMANCE.md, session 8) for a package the agent never uses, since
// src/gen/protos.js switches 64-bit fields to plain numbers (scripts/gen-protos.ts). protobufjs
// accepts a missing Long (its check is `Long && Long.isLong`).
module.exports = null;
