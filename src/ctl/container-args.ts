// Short forms for running a container by hand (names that are not request fields):
//   CreateContainer cid=ID bundle=/path/to/bundle [cmd="…"] [terminal=true]
//       OCI from <bundle>/config.json (root.path relative to the bundle)
//   CreateContainer cid=ID spec=/path/config.json     (or spec=file:///path/config.json)
//   CreateContainer cid=ID rootfs=/path cmd="sh -c 'echo hi'" [terminal=true] [env=K=V]... [cwd=/]
//       OCI = minimalSpec (what `runc spec` writes)
//   ExecProcess cid=ID exec_id=E cmd="…" [terminal=true] [env=K=V]... [cwd=/] [uid=N] [gid=N]
//       process with the container's defaults: env PATH, cwd /, root user
// Paths are the guest's: the agent reads them, agent-ctl only converts config.json.
import { dirname } from "node:path";
import { loadBundleSpec, minimalSpec, ociConfigToSpec } from "./oci-json.ts";
import { CtlSyntaxError } from "./errors.ts";
import { normalizeMessage, type PlainMessage } from "./json-check.ts";
import { readJsonFile, type BuildContext, type Convenience } from "./request.ts";
import { messageType } from "./schema.ts";
import { coerceScalar } from "./values.ts";
import { splitWords } from "./words.ts";

/** The PATH runc and Kata put in a default process environment. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function one(values: Map<string, string[]>, name: string): string | undefined {
  const v = values.get(name);
  if (v && v.length > 1) throw new CtlSyntaxError(`${name}= given ${v.length} times`);
  return v?.[0];
}

function flag(values: Map<string, string[]>, name: string): boolean | undefined {
  const v = one(values, name);
  return v === undefined ? undefined : (coerceScalar(name, "bool", v, "word", name) as boolean);
}

function uint(values: Map<string, string[]>, name: string): number | undefined {
  const v = one(values, name);
  return v === undefined ? undefined : (coerceScalar(name, "uint", v, "word", name) as number);
}

/** A command given as one string ("sh -c 'echo hi'") split like a shell would. */
export function commandArgs(cmd: string): string[] {
  const args = splitWords(cmd);
  if (args.length === 0) throw new CtlSyntaxError("cmd= is empty");
  return args;
}

/** Turns anything the OCI converter throws (SpecError: a bad config.json) into a syntax error. */
function convert<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CtlSyntaxError) throw e;
    throw new CtlSyntaxError(`${what}: ${(e as Error).message}`);
  }
}

function specFor(values: Map<string, string[]>, ctx: BuildContext): unknown | undefined {
  const bundle = one(values, "bundle");
  const spec = one(values, "spec");
  const rootfs = one(values, "rootfs");
  const cmd = one(values, "cmd");
  const given = [bundle && "bundle=", spec && "spec=", rootfs && "rootfs="].filter(Boolean);
  if (given.length > 1) throw new CtlSyntaxError(`CreateContainer: give only one of ${given.join(", ")}`);
  if (bundle) return convert(`bundle ${bundle}`, () => loadBundleSpec(bundle));
  if (spec) {
    const path = spec.startsWith("file://") ? spec.slice(7) : spec;
    const json = readJsonFile(path, ctx);
    return convert(`spec ${path}`, () => ociConfigToSpec(json, { bundleDir: dirname(path) }));
  }
  if (rootfs) {
    if (!cmd) throw new CtlSyntaxError('CreateContainer rootfs=… needs cmd="…" (the command to run)');
    return convert("rootfs spec", () =>
      minimalSpec({ rootfs, args: commandArgs(cmd), env: values.get("env"), terminal: flag(values, "terminal"), cwd: one(values, "cwd") }),
    );
  }
  return undefined;
}

const createContainer: Convenience = {
  names: ["bundle", "spec", "rootfs", "cmd", "terminal", "env", "cwd"],
  apply(request, values, ctx) {
    const specType = messageType("grpc.Spec");
    const fromFiles = specFor(values, ctx);
    let oci = fromFiles === undefined ? (request.OCI as PlainMessage | undefined) : normalizeMessage(fromFiles, specType, "OCI");
    if (!oci) throw new CtlSyntaxError("CreateContainer: cmd=, terminal=, env= and cwd= need bundle=, spec= or rootfs= (or an OCI spec in JSON)");
    if (fromFiles === undefined || !values.has("rootfs")) {
      // Overrides on a bundle's or a JSON spec's process (rootfs= already used them).
      const process = { ...((oci.Process as PlainMessage | undefined) ?? {}) };
      const cmd = one(values, "cmd");
      if (cmd !== undefined) process.Args = commandArgs(cmd);
      const terminal = flag(values, "terminal");
      if (terminal !== undefined) process.Terminal = terminal;
      if (values.has("env")) process.Env = values.get("env");
      const cwd = one(values, "cwd");
      if (cwd !== undefined) process.Cwd = cwd;
      oci = { ...oci, Process: normalizeMessage(process, messageType("grpc.Process"), "OCI.Process") };
    }
    return { ...request, OCI: oci };
  },
};

const execProcess: Convenience = {
  names: ["cmd", "terminal", "env", "cwd", "uid", "gid"],
  apply(request, values) {
    const current = (request.process as PlainMessage | undefined) ?? {};
    const cmd = one(values, "cmd");
    const process: PlainMessage = {
      Env: [DEFAULT_PATH],
      Cwd: "/",
      User: { UID: 0, GID: 0 },
      ...current,
    };
    if (cmd !== undefined) process.Args = commandArgs(cmd);
    if (!Array.isArray(process.Args) || process.Args.length === 0) throw new CtlSyntaxError('ExecProcess: give the command as cmd="…" (or a process in JSON)');
    const terminal = flag(values, "terminal");
    if (terminal !== undefined) process.Terminal = terminal;
    if (values.has("env")) process.Env = values.get("env");
    const cwd = one(values, "cwd");
    if (cwd !== undefined) process.Cwd = cwd;
    const uid = uint(values, "uid");
    const gid = uint(values, "gid");
    if (uid !== undefined || gid !== undefined) {
      process.User = { ...(process.User as PlainMessage), ...(uid !== undefined && { UID: uid }), ...(gid !== undefined && { GID: gid }) };
    }
    return { ...request, process: normalizeMessage(process, messageType("grpc.Process"), "process") };
  },
};

/** Commands with short forms, by RPC name. */
export const CONVENIENCE: Record<string, Convenience> = {
  CreateContainer: createContainer,
  ExecProcess: execProcess,
};
