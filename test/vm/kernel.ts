// Guest kernel for the VM tests: the host's Debian kernel, booted by QEMU.
//
// -M microvm boots an uncompressed ELF vmlinux (through its PVH entry note) but not a bzImage, so we
// take the compressed payload out of the bzImage and decompress it ourselves. The bzImage header
// (x86 boot protocol >= 2.08) says where the payload is: `payload_offset`/`payload_length` at
// 0x248/0x24C, relative to the protected-mode code, which starts after (setup_sects + 1) sectors.
//
// Drivers the guest needs (vsock) are modules in Debian's kernel; we resolve them and their
// dependencies from modules.dep and hand back plain .ko files (busybox insmod cannot read .ko.xz).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

export const repoRoot = join(import.meta.dir, "../..");
/** Cache for everything the VM tests derive from the host (gitignored). */
export const workDir = join(repoRoot, "test/.work/vm");

/** The modules the guest loads for AF_VSOCK with in-guest loopback (CID 1). */
export const VSOCK_MODULES = [
  "vsock",
  "vmw_vsock_virtio_transport_common",
  "vmw_vsock_virtio_transport",
  "vsock_loopback",
];

export interface HostKernel {
  version: string; // e.g. "6.1.0-56-amd64"
  bzImage: string; // /boot/vmlinuz-<version>
  modulesDir: string; // /lib/modules/<version>
}

/** The newest /boot/vmlinuz-* whose /lib/modules/<version> exists, or null. */
export function findHostKernel(bootDir = "/boot", modulesRoot = "/lib/modules"): HostKernel | null {
  if (!existsSync(bootDir)) return null;
  const versions = readdirSync(bootDir)
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .filter((v) => existsSync(join(modulesRoot, v, "modules.dep")))
    .sort(compareVersions);
  const version = versions.at(-1);
  if (!version) return null;
  return { version, bzImage: join(bootDir, `vmlinuz-${version}`), modulesDir: join(modulesRoot, version) };
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Where the compressed kernel sits inside a bzImage. Throws on anything that is not a bzImage. */
export function locatePayload(image: Buffer): { offset: number; length: number; format: "xz" | "gzip" | "zstd" } {
  if (image.length < 0x250 || image.toString("latin1", 0x202, 0x206) !== "HdrS") {
    throw new Error("not a bzImage (no HdrS boot header at 0x202)");
  }
  const protocol = image.readUInt16LE(0x206);
  if (protocol < 0x208) throw new Error(`boot protocol 0x${protocol.toString(16)} has no payload_offset (needs >= 2.08)`);
  const setupSectors = image[0x1f1] || 4; // 0 means 4, for historical reasons
  const offset = (setupSectors + 1) * 512 + image.readUInt32LE(0x248);
  const length = image.readUInt32LE(0x24c);
  if (offset + length > image.length) throw new Error("bzImage payload extends past the end of the file");
  const head = image.subarray(offset, offset + 6);
  if (head.equals(XZ_MAGIC)) return { offset, length, format: "xz" };
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return { offset, length, format: "gzip" };
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return { offset, length, format: "zstd" };
  throw new Error(`unknown kernel compression (payload starts ${head.toString("hex")})`);
}

const DECOMPRESSORS: Record<string, string[]> = {
  // --single-stream: the payload may be followed by padding/size words; stop after the first stream.
  xz: ["xz", "-dc", "--single-stream"],
  gzip: ["gzip", "-dc"],
  zstd: ["zstd", "-dcq"],
};

function decompress(format: string, data: Uint8Array): Buffer {
  const argv = DECOMPRESSORS[format];
  if (!argv) throw new Error(`no decompressor for ${format}`);
  const p = Bun.spawnSync(argv, { stdin: data, stdout: "pipe", stderr: "pipe" });
  // gzip warns (exit 2) about trailing garbage but has produced the whole output.
  if (p.exitCode !== 0 && !(format === "gzip" && p.exitCode === 2)) {
    throw new Error(`${argv.join(" ")} failed (exit ${p.exitCode}): ${p.stderr.toString().trim()}`);
  }
  return Buffer.from(p.stdout);
}

/** Decompresses the bzImage's payload to an ELF vmlinux in cacheDir (reused when present). */
export function extractVmlinux(kernel: HostKernel, cacheDir = workDir): string {
  const out = join(cacheDir, `vmlinux-${kernel.version}`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const image = readFileSync(kernel.bzImage);
  const { offset, length, format } = locatePayload(image);
  const elf = decompress(format, image.subarray(offset, offset + length));
  if (!elf.subarray(0, 4).equals(ELF_MAGIC)) throw new Error(`decompressed ${kernel.bzImage} payload is not an ELF file`);
  // Write then rename, so a crash never leaves a truncated vmlinux that later runs would trust.
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, elf);
  renameSync(tmp, out);
  return out;
}

/** Parses modules.dep into module name -> {path, deps (paths)}; names use '_' (modprobe's rule). */
export function readModulesDep(modulesDir: string): Map<string, { path: string; deps: string[] }> {
  const table = new Map<string, { path: string; deps: string[] }>();
  for (const line of readFileSync(join(modulesDir, "modules.dep"), "utf8").split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    table.set(moduleName(path), { path, deps });
  }
  return table;
}

export function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|gz|zst))?$/, "").replaceAll("-", "_");
}

/**
 * The wanted modules plus everything they depend on, in an order insmod can load them
 * (dependencies first). Paths are relative to modulesDir, as in modules.dep.
 */
export function resolveModuleOrder(modulesDir: string, wanted: string[]): string[] {
  const table = readModulesDep(modulesDir);
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, wantedBy: string) => {
    if (ordered.some((p) => moduleName(p) === name)) return;
    const entry = table.get(name);
    if (!entry) throw new Error(`module ${name} (needed by ${wantedBy}) is not in ${modulesDir}/modules.dep`);
    if (visiting.has(name)) throw new Error(`dependency cycle at module ${name}`);
    visiting.add(name);
    for (const dep of entry.deps) visit(moduleName(dep), name);
    visiting.delete(name);
    ordered.push(entry.path);
  };
  for (const name of wanted) visit(name.replaceAll("-", "_"), "the VM test");
  return ordered;
}

/**
 * Copies the modules (in load order) to destDir as plain .ko files, decompressing .ko.xz/.gz/.zst.
 * Returns the file names in load order.
 */
export function installModules(kernel: HostKernel, wanted: string[], destDir: string): string[] {
  mkdirSync(destDir, { recursive: true });
  const names: string[] = [];
  for (const rel of resolveModuleOrder(kernel.modulesDir, wanted)) {
    const data = readFileSync(join(kernel.modulesDir, rel));
    const compression = rel.endsWith(".xz") ? "xz" : rel.endsWith(".gz") ? "gzip" : rel.endsWith(".zst") ? "zstd" : null;
    const plain = compression ? decompress(compression, data) : data;
    if (!plain.subarray(0, 4).equals(ELF_MAGIC)) throw new Error(`${rel} did not decompress to an ELF module`);
    const name = `${moduleName(rel)}.ko`;
    writeFileSync(join(destDir, name), plain);
    names.push(name);
  }
  return names;
}
