// One busybox bundle for everyone: runc and crun run <dir>/config.json (root "rootfs", relative),
// our agent gets the same spec as a grpc.Spec (root = the absolute rootfs path), encoded to
// protobuf for bench-client. The spec is runc's default template (minimalOciConfig).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeBusyboxRootfs } from "../../test/fixtures/busybox.ts";
import { minimalOciConfig, ociConfigToSpec } from "../../src/ctl/oci-json.ts";
import { messageType } from "../../src/ctl/schema.ts";

export interface Bundle {
  dir: string;
  rootfs: string;
}

/** Creates <dir>/rootfs (busybox) once; runc-style bundles are written per command. */
export async function makeRootfs(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  await makeBusyboxRootfs(rootfs);
  return rootfs;
}

/** A runc/crun bundle directory: config.json whose root.path is the shared rootfs (absolute). */
export function writeRuncBundle(dir: string, rootfs: string, args: string[]): Bundle {
  mkdirSync(dir, { recursive: true });
  const config = minimalOciConfig({ rootfs, args });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 1));
  return { dir, rootfs };
}

/** The same spec for our agent, as protobuf bytes in a file bench-client loads. */
export function writeAgentSpec(file: string, rootfs: string, args: string[]): string {
  const spec = ociConfigToSpec(minimalOciConfig({ rootfs, args }));
  mkdirSync(dirname(file), { recursive: true });
  const type = messageType("grpc.Spec");
  writeFileSync(file, type.encode(type.fromObject(spec)).finish());
  return file;
}
