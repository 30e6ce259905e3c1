// config.json (runtime-spec JSON) -> proto-shaped Spec, and the runc-like default spec.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpc } from "../../src/gen/index.ts";
import { messageType } from "../../src/ctl/schema.ts";
import { loadBundleSpec, minimalOciConfig, minimalSpec, ociConfigToSpec } from "../../src/ctl/oci-json.ts";
import { SpecError } from "../../src/container/spec-error.ts";
import { validateSpec } from "../../src/container/spec-validate.ts";

// Written by hand after `runc spec` (runc 1.1), plus the fields runc leaves out.
const CONFIG = `{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "consoleSize": { "height": 25, "width": 80 },
    "user": { "uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 18 },
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_KILL"]
    },
    "rlimits": [
      { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 },
      { "type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0 }
    ],
    "noNewPrivileges": true,
    "oomScoreAdj": -100,
    "apparmorProfile": "",
    "selinuxLabel": ""
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "runc",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    { "destination": "/data", "source": "/srv/data", "options": ["rbind", "rw"] }
  ],
  "hooks": {
    "prestart": [{ "path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"], "env": ["key1=value1"] }],
    "createRuntime": [{ "path": "/usr/bin/hook", "timeout": 5 }],
    "poststop": [{ "path": "/usr/sbin/cleanup.sh", "args": ["cleanup.sh", "-f"] }]
  },
  "annotations": { "com.example.key1": "value1" },
  "linux": {
    "sysctl": { "net.ipv4.ip_forward": "1" },
    "resources": {
      "devices": [{ "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw" }],
      "memory": { "limit": 536870912, "reservation": 536870912, "swap": 536870912, "swappiness": 0, "disableOOMKiller": false },
      "cpu": { "shares": 1024, "quota": 1000000, "period": 500000, "cpus": "2-3", "mems": "0" },
      "pids": { "limit": 32771 },
      "blockIO": { "weight": 10, "throttleReadBpsDevice": [{ "major": 8, "minor": 0, "rate": 600 }] },
      "hugepageLimits": [{ "pageSize": "2MB", "limit": 9223372036854772000 }],
      "network": { "classID": 1048577, "priorities": [{ "name": "eth0", "priority": 500 }] }
    },
    "cgroupsPath": "/myRuntime/myContainer",
    "namespaces": [{ "type": "pid" }, { "type": "network", "path": "/var/run/netns/x" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }],
    "devices": [{ "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0 }],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [{ "names": ["getcwd", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{ "index": 0, "value": 1, "op": "SCMP_CMP_EQ" }] }]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "",
    "personality": { "domain": "LINUX" }
  }
}`;

let bundle: string;
beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), "oci-json-"));
  mkdirSync(join(bundle, "rootfs"));
  writeFileSync(join(bundle, "config.json"), CONFIG);
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

describe("ociConfigToSpec", () => {
  const spec = () => ociConfigToSpec(JSON.parse(CONFIG), { bundleDir: "/b" });

  test("process", () => {
    const p = spec().Process!;
    expect(p.Terminal).toBe(true);
    expect(p.ConsoleSize).toEqual({ Height: 25, Width: 80 });
    expect(p.User).toEqual({ UID: 1000, GID: 1000, AdditionalGids: [5, 6], Username: "" });
    expect(p.Args).toEqual(["sh", "-c", "echo hi"]);
    expect(p.Cwd).toBe("/work");
    expect(p.Capabilities).toEqual({
      Bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      Effective: ["CAP_AUDIT_WRITE", "CAP_KILL"],
      Inheritable: [],
      Permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      Ambient: ["CAP_KILL"],
    });
    expect(p.Rlimits![0]).toEqual({ Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024 });
    expect(p.NoNewPrivileges).toBe(true);
    expect(p.OOMScoreAdj).toBe(-100);
  });
  test("root is resolved against the bundle", () => {
    expect(spec().Root).toEqual({ Path: "/b/rootfs", Readonly: true });
    expect(ociConfigToSpec(JSON.parse(CONFIG)).Root!.Path).toBe("rootfs");
  });
  test("mounts keep the proto's lowercase names", () => {
    expect(spec().Mounts![3]).toEqual({ destination: "/data", source: "/srv/data", type: "", options: ["rbind", "rw"] });
  });
  test("hooks", () => {
    const h = spec().Hooks!;
    expect(h.Prestart).toEqual([{ Path: "/usr/bin/fix-mounts", Args: ["fix-mounts", "arg1"], Env: ["key1=value1"], Timeout: 0 }]);
    expect(h.CreateRuntime![0]!.Timeout).toBe(5);
    expect(h.Poststop![0]!.Args).toEqual(["cleanup.sh", "-f"]);
    expect(h.Poststart).toBeUndefined();
  });
  test("linux", () => {
    const l = spec().Linux!;
    expect(l.Sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(l.CgroupsPath).toBe("/myRuntime/myContainer");
    expect(l.Namespaces).toEqual([
      { Type: "pid", Path: "" }, { Type: "network", Path: "/var/run/netns/x" }, { Type: "ipc", Path: "" },
      { Type: "uts", Path: "" }, { Type: "mount", Path: "" },
    ]);
    expect(l.Devices).toEqual([{ Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: 438, UID: 0, GID: 0 }]);
    expect(l.RootfsPropagation).toBe("rslave");
    expect(l.MaskedPaths).toEqual(["/proc/kcore"]);
    expect(l.ReadonlyPaths).toEqual(["/proc/sys"]);
    const r = l.Resources!;
    expect(r.Devices).toEqual([
      { Allow: false, Type: "a", Major: -1, Minor: -1, Access: "rwm" },
      { Allow: true, Type: "c", Major: 10, Minor: 229, Access: "rw" },
    ]);
    expect(r.Memory).toEqual({ Limit: 536870912, Reservation: 536870912, Swap: 536870912, Swappiness: 0, DisableOOMKiller: false });
    expect(r.CPU).toEqual({ Shares: 1024, Quota: 1000000, Period: 500000, Cpus: "2-3", Mems: "0" });
    expect(r.Pids).toEqual({ Limit: 32771 });
    expect(r.BlockIO).toEqual({ Weight: 10, ThrottleReadBpsDevice: [{ Major: 8, Minor: 0, Rate: 600 }] });
    expect(r.HugepageLimits![0]!.Pagesize).toBe("2MB");
    expect(r.Network).toEqual({ ClassID: 1048577, Priorities: [{ Name: "eth0", Priority: 500 }] });
    expect(l.Seccomp!.Syscalls).toEqual([
      { Names: ["getcwd", "chmod"], Action: "SCMP_ACT_ERRNO", errnoret: 1, Args: [{ Index: 0, Value: 1, ValueTwo: 0, Op: "SCMP_CMP_EQ" }] },
    ]);
  });
  test("annotations and version", () => {
    const s = spec();
    expect(s.Annotations).toEqual({ "com.example.key1": "value1" });
    expect(s.Version).toBe("1.0.2-dev");
  });
  test("survives the protobuf wire (field names match oci.proto)", () => {
    const s = spec();
    const t = messageType("grpc.Spec");
    const bytes = grpc.Spec.encode(t.fromObject(s) as grpc.ISpec).finish();
    const back = t.toObject(grpc.Spec.decode(bytes) as never, { defaults: false });
    expect(back.Process.Args).toEqual(["sh", "-c", "echo hi"]);
    expect(back.Process.User).toMatchObject({ UID: 1000, GID: 1000, AdditionalGids: [5, 6] });
    expect(back.Root).toMatchObject({ Path: "/b/rootfs", Readonly: true });
    expect(back.Mounts[3]).toMatchObject({ destination: "/data", source: "/srv/data", options: ["rbind", "rw"] });
    expect(back.Linux.Namespaces[1]).toMatchObject({ Type: "network", Path: "/var/run/netns/x" });
    expect(back.Linux.Resources.CPU.Cpus).toBe("2-3");
    expect(back.Linux.Seccomp.Syscalls[0].errnoret).toBe(1);
    expect(back.Hooks.Prestart[0].Path).toBe("/usr/bin/fix-mounts");
    expect(back.Annotations).toEqual({ "com.example.key1": "value1" });
    expect(bytes.length).toBeGreaterThan(500);
  });
  test("errors name the JSON field", () => {
    const bad = JSON.parse(CONFIG);
    bad.process.args = ["sh", 5];
    try {
      ociConfigToSpec(bad);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).field).toBe("config.json process.args[1]");
      expect((e as Error).message).toContain("Expected string");
    }
    const noType = JSON.parse(CONFIG);
    delete noType.linux.namespaces[2].type;
    expect(() => ociConfigToSpec(noType)).toThrow("config.json linux.namespaces[2].type");
    expect(() => ociConfigToSpec("not an object")).toThrow(/^config\.json /);
  });
});

describe("loadBundleSpec", () => {
  test("reads config.json and roots it in the bundle; the result validates", () => {
    const s = loadBundleSpec(bundle);
    expect(s.Root!.Path).toBe(join(bundle, "rootfs"));
    expect(() => validateSpec(s)).not.toThrow();
  });
  test("missing config.json", () => {
    expect(() => loadBundleSpec(join(bundle, "nope"))).toThrow(/^config\.json cannot be read/);
  });
});

describe("minimalSpec", () => {
  test("is runc's template around the rootfs and command", () => {
    const s = minimalSpec({ rootfs: "/run/r", args: ["true"] });
    expect(s.Root).toEqual({ Path: "/run/r", Readonly: false });
    expect(s.Process!.Args).toEqual(["true"]);
    expect(s.Process!.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]);
    expect(s.Process!.Terminal).toBe(false);
    expect(s.Mounts!.map((m) => `${m.destination}:${m.type}`)).toEqual([
      "/proc:proc", "/dev:tmpfs", "/dev/pts:devpts", "/dev/shm:tmpfs", "/dev/mqueue:mqueue", "/sys:sysfs", "/sys/fs/cgroup:cgroup",
    ]);
    expect(s.Linux!.Namespaces!.map((n) => n.Type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(s.Linux!.MaskedPaths!.length).toBe(10);
    expect(s.Linux!.ReadonlyPaths!.length).toBe(5);
    expect(() => validateSpec(s)).not.toThrow();
  });
  test("options", () => {
    const s = minimalSpec({ rootfs: "/r", args: ["sh"], env: ["A=1"], terminal: true, cwd: "/tmp", hostname: "h", readonlyRoot: true });
    expect([s.Process!.Env, s.Process!.Terminal, s.Process!.Cwd, s.Hostname, s.Root!.Readonly]).toEqual([["A=1"], true, "/tmp", "h", true]);
  });
  test("the JSON form is what the Spec was made from", () => {
    const j = minimalOciConfig({ rootfs: "/r", args: ["sh"] });
    expect(ociConfigToSpec(JSON.parse(JSON.stringify(j)))).toEqual(minimalSpec({ rootfs: "/r", args: ["sh"] }));
  });
});
