// Builds test/interop/go-client with containerd's Go ttRPC (Debian packages, offline, GOPATH mode).
// The Go message types are generated from OUR protos/ with protoc + gogottrpc, so the Go client
// speaks exactly what our .proto files say; the TS side is generated from the same files.
import { mkdirSync, readdirSync, rmSync, existsSync, statSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const work = join(root, "test/.work/go");
export const interopBinary = join(work, "bin/interop-client");

function run(cmd: string[], cwd: string, env: Record<string, string> = {}): void {
  const p = Bun.spawnSync(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stdout.toString()}${p.stderr.toString()}`);
  }
}

/** True when the Go toolchain and containerd's ttrpc sources are installed. */
export function goAvailable(): boolean {
  return Bun.which("go") !== null && Bun.which("protoc") !== null && Bun.which("protoc-gen-gogottrpc") !== null &&
    existsSync("/usr/share/gocode/src/github.com/containerd/ttrpc");
}

function newest(dir: string): number {
  return Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}

export function buildInteropClient(): string {
  const protos = join(root, "protos");
  const src = join(root, "test/interop/go-client");
  if (existsSync(interopBinary) && statSync(interopBinary).mtimeMs > Math.max(newest(protos), newest(src))) {
    return interopBinary;
  }
  rmSync(work, { recursive: true, force: true });
  const gopath = join(work, "gopath");
  const grpcDir = join(gopath, "src/kataproto/grpc");
  const typesDir = join(gopath, "src/kataproto/types");
  mkdirSync(grpcDir, { recursive: true });
  mkdirSync(typesDir, { recursive: true });
  // types.proto is its own Go package; the rest are package grpc. M options map imports to them.
  // Debian's gogo generator predates proto3 `optional` (presence tracking only; the wire format
  // is the same), so the Go side is generated from a copy without the keyword.
  const protoCopy = join(work, "protos");
  mkdirSync(protoCopy, { recursive: true });
  for (const f of readdirSync(protos).filter((f) => f.endsWith(".proto"))) {
    const text = readFileSync(join(protos, f), "utf8").replace(/^(\s*)optional\s+/gm, "$1");
    writeFileSync(join(protoCopy, f), text);
  }
  const map = "Mtypes.proto=kataproto/types,Moci.proto=kataproto/grpc,Mcsi.proto=kataproto/grpc,Magent.proto=kataproto/grpc,Mhealth.proto=kataproto/grpc," +
    "Mgoogle/protobuf/empty.proto=github.com/gogo/protobuf/types";
  const grpcFiles = readdirSync(protos).filter((f) => f.endsWith(".proto") && f !== "types.proto");
  run(["protoc", `-I${protoCopy}`, `--gogottrpc_out=plugins=ttrpc,paths=source_relative,${map}:${grpcDir}`, ...grpcFiles], protoCopy);
  run(["protoc", `-I${protoCopy}`, `--gogottrpc_out=paths=source_relative,${map}:${typesDir}`, "types.proto"], protoCopy);
  const mainDir = join(gopath, "src/interopclient");
  mkdirSync(mainDir, { recursive: true });
  for (const f of readdirSync(src).filter((f) => f.endsWith(".go"))) cpSync(join(src, f), join(mainDir, f));
  mkdirSync(join(work, "bin"), { recursive: true });
  run(["go", "build", "-o", interopBinary, "interopclient"], mainDir, {
    GO111MODULE: "off",
    GOPATH: `${gopath}:/usr/share/gocode`,
    GOPROXY: "off",
    GOFLAGS: "-mod=mod",
    GOCACHE: join(work, "cache"),
  });
  return interopBinary;
}

if (import.meta.main) console.log(buildInteropClient());
