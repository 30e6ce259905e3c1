// Builds the Go bench peers (bench/go/client, bench/go/server) offline from Debian's packages
// (containerd's ttrpc, gogo protobuf) in GOPATH mode, into test/.work/bench-go (git-ignored).
// The Go message types are generated from OUR protos/ with protoc + gogottrpc, as
// test/interop/build.ts does for the interop client, so both sides speak the same .proto files.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
export const goWork = join(root, "test/.work/bench-go");

export interface GoPeers {
  client: string;
  server: string;
}

function run(cmd: string[], cwd: string, env: Record<string, string> = {}): void {
  const p = Bun.spawnSync(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stdout}${p.stderr}`);
}

export function goMissing(): string | null {
  for (const tool of ["go", "protoc", "protoc-gen-gogottrpc"]) if (!Bun.which(tool)) return `${tool} not installed`;
  if (!existsSync("/usr/share/gocode/src/github.com/containerd/ttrpc")) return "golang-github-containerd-ttrpc-dev not installed";
  return null;
}

function newestMtime(dirs: string[]): number {
  let t = 0;
  for (const d of dirs) for (const f of readdirSync(d)) t = Math.max(t, statSync(join(d, f)).mtimeMs);
  return t;
}

/** Builds (or reuses, when newer than its sources) both Go programs. */
export function buildGoPeers(): GoPeers {
  const why = goMissing();
  if (why) throw new Error(`cannot build the Go peers: ${why}`);
  const protos = join(root, "protos");
  const srcs = ["client", "server"].map((d) => join(import.meta.dir, "../go", d));
  const out: GoPeers = { client: join(goWork, "bin/bench-client"), server: join(goWork, "bin/bench-server") };
  const sourcesAt = newestMtime([protos, ...srcs]);
  if (existsSync(out.client) && existsSync(out.server) && Math.min(statSync(out.client).mtimeMs, statSync(out.server).mtimeMs) > sourcesAt) {
    return out;
  }
  rmSync(goWork, { recursive: true, force: true });
  const gopath = join(goWork, "gopath");
  const grpcDir = join(gopath, "src/kataproto/grpc");
  const typesDir = join(gopath, "src/kataproto/types");
  mkdirSync(grpcDir, { recursive: true });
  mkdirSync(typesDir, { recursive: true });
  // Debian's gogo generator predates proto3 `optional`; the wire format is the same without it.
  const protoCopy = join(goWork, "protos");
  mkdirSync(protoCopy, { recursive: true });
  const files = readdirSync(protos).filter((f) => f.endsWith(".proto"));
  for (const f of files) {
    writeFileSync(join(protoCopy, f), readFileSync(join(protos, f), "utf8").replace(/^(\s*)optional\s+/gm, "$1"));
  }
  const map = "Mtypes.proto=kataproto/types,Moci.proto=kataproto/grpc,Mcsi.proto=kataproto/grpc,Magent.proto=kataproto/grpc," +
    "Mhealth.proto=kataproto/grpc,Mgoogle/protobuf/empty.proto=github.com/gogo/protobuf/types";
  run(["protoc", `-I${protoCopy}`, `--gogottrpc_out=plugins=ttrpc,paths=source_relative,${map}:${grpcDir}`, ...files.filter((f) => f !== "types.proto")], protoCopy);
  run(["protoc", `-I${protoCopy}`, `--gogottrpc_out=paths=source_relative,${map}:${typesDir}`, "types.proto"], protoCopy);
  const env = { GO111MODULE: "off", GOPATH: `${gopath}:/usr/share/gocode`, GOPROXY: "off", GOFLAGS: "-mod=mod", GOCACHE: join(goWork, "cache") };
  for (const [name, bin] of [["client", out.client], ["server", out.server]] as const) {
    const pkg = `bench${name}`;
    const dir = join(gopath, "src", pkg);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(join(import.meta.dir, "../go", name)).filter((f) => f.endsWith(".go"))) cpSync(join(import.meta.dir, "../go", name, f), join(dir, f));
    run(["go", "build", "-o", bin, pkg], dir, env);
  }
  return out;
}

if (import.meta.main) console.log(buildGoPeers());
