import { describe, expect, test } from "bun:test";
import { minimalSpec } from "../../src/ctl/oci-json.ts";
import type { ISpec } from "../../src/container/oci-types.ts";
import { SpecError } from "../../src/container/spec-error.ts";
import { validateProcess, validateSpec } from "../../src/container/spec-validate.ts";
import { thrownAs } from "../helpers/thrown.ts";

const good = (): ISpec => minimalSpec({ rootfs: "/run/kata-containers/c1/rootfs", args: ["sh"] });

const errorOf = (f: () => unknown): SpecError => thrownAs(SpecError, f);

describe("validateSpec accepts", () => {
  test("runc's default spec", () => {
    expect(() => validateSpec(good())).not.toThrow();
  });
  test("protobuf-style nulls for absent messages", () => {
    const s = good();
    s.Hooks = null;
    s.Process!.Capabilities = null;
    s.Linux!.Resources = null;
    expect(() => validateSpec(s)).not.toThrow();
  });
  test("empty Cwd (Kata then stays in /)", () => {
    const s = good();
    s.Process!.Cwd = "";
    expect(() => validateSpec(s)).not.toThrow();
  });
  test("namespaced sysctls", () => {
    const s = good();
    s.Linux!.Sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "20", "kernel.domainname": "x" };
    expect(() => validateSpec(s)).not.toThrow();
  });
  test("whitelisted /proc bind (lxcfs style)", () => {
    const s = good();
    s.Mounts!.push({ destination: "/proc/meminfo", source: "/var/lib/lxcfs/proc/meminfo", type: "bind", options: ["rbind"] });
    expect(() => validateSpec(s)).not.toThrow();
  });
});

type Mutation = [name: string, mutate: (s: ISpec) => void, field: string, message: RegExp];

const rejected: Mutation[] = [
  ["missing spec root", (s) => void (s.Root = null), "Spec.Root", /is required/],
  ["relative root", (s) => void (s.Root!.Path = "rootfs"), "Spec.Root.Path", /"rootfs" is relative/],
  ["empty root path", (s) => void (s.Root!.Path = ""), "Spec.Root.Path", /is required/],
  ["missing process", (s) => void (s.Process = undefined), "Spec.Process", /is required/],
  ["missing args", (s) => void (s.Process!.Args = []), "Spec.Process.Args", /is required/],
  ["empty command", (s) => void (s.Process!.Args = [""]), "Spec.Process.Args", /empty command/],
  ["relative cwd", (s) => void (s.Process!.Cwd = "tmp"), "Spec.Process.Cwd", /"tmp" is not absolute/],
  ["missing linux", (s) => void (s.Linux = null), "Spec.Linux", /is required/],
  ["relative mount destination", (s) => void (s.Mounts![2]!.destination = "proc"), "Spec.Mounts[2].destination", /^Spec\.Mounts\[2\]\.destination "proc" is not absolute$/],
  ["'..' in mount destination", (s) => void (s.Mounts![1]!.destination = "/dev/../etc"), "Spec.Mounts[1].destination", /contains a "\.\." component/],
  ["unknown namespace", (s) => void s.Linux!.Namespaces!.push({ Type: "galaxy" }), "Spec.Linux.Namespaces[5].Type", /"galaxy" is not a namespace type/],
  ["user namespace without mappings", (s) => void s.Linux!.Namespaces!.push({ Type: "user" }), "Spec.Linux.UIDMappings", /required with a "user" namespace/],
  ["joined user namespace", (s) => void s.Linux!.Namespaces!.push({ Type: "user", Path: "/proc/1/ns/user" }), "Spec.Linux.Namespaces[5]", /joining a user namespace is not supported/],
  ["time namespace", (s) => void s.Linux!.Namespaces!.push({ Type: "time" }), "Spec.Linux.Namespaces[5].Type", /not supported/],
  ["duplicate namespace", (s) => void s.Linux!.Namespaces!.push({ Type: "pid" }), "Spec.Linux.Namespaces", /"pid" more than once/],
  ["relative namespace path", (s) => void (s.Linux!.Namespaces![1]!.Path = "proc/1/ns/net"), "Spec.Linux.Namespaces[1].Path", /not absolute/],
  ["no mount namespace", (s) => void (s.Linux!.Namespaces = s.Linux!.Namespaces!.filter((n) => n.Type !== "mount")), "Spec.Linux.Namespaces", /no "mount" namespace/],
  ["joined mount namespace", (s) => void (s.Linux!.Namespaces!.find((n) => n.Type === "mount")!.Path = "/proc/1/ns/mnt"), "Spec.Linux.Namespaces", /joins the mount namespace/],
  ["hostname without uts ns", (s) => void (s.Linux!.Namespaces = s.Linux!.Namespaces!.filter((n) => n.Type !== "uts")), "Spec.Hostname", /needs a "uts" namespace/],
  ["uid mappings without a user namespace", (s) => void (s.Linux!.UIDMappings = [{ HostID: 1000, ContainerID: 0, Size: 1 }]), "Spec.Linux.UIDMappings", /need a "user" namespace/],
  ["gid mappings without a user namespace", (s) => void (s.Linux!.GIDMappings = [{ HostID: 1000, ContainerID: 0, Size: 1 }]), "Spec.Linux.UIDMappings", /need a "user" namespace/],
  ["bad capability", (s) => void (s.Process!.Capabilities!.Effective = ["CAP_KILL", "CAP_TELEPORT"]), "Spec.Process.Capabilities.Effective[1]", /"CAP_TELEPORT" is not a known capability/],
  ["capability without prefix", (s) => void (s.Process!.Capabilities!.Bounding = ["KILL"]), "Spec.Process.Capabilities.Bounding[0]", /"KILL"/],
  ["unknown rlimit", (s) => void s.Process!.Rlimits!.push({ Type: "RLIMIT_BANANAS", Soft: 1, Hard: 1 }), "Spec.Process.Rlimits[1].Type", /"RLIMIT_BANANAS" is not a known rlimit/],
  ["duplicate rlimit", (s) => void s.Process!.Rlimits!.push({ Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1 }), "Spec.Process.Rlimits", /"RLIMIT_NOFILE" more than once/],
  ["soft above hard", (s) => void (s.Process!.Rlimits = [{ Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5 }]), "Spec.Process.Rlimits[0]", /soft limit 10 is above hard limit 5/],
  ["oom_score_adj out of range", (s) => void (s.Process!.OOMScoreAdj = 1001), "Spec.Process.OOMScoreAdj", /outside -1000\.\.1000/],
  ["non-namespaced sysctl", (s) => void (s.Linux!.Sysctl = { "vm.swappiness": "10" }), 'Spec.Linux.Sysctl["vm.swappiness"]', /not a namespaced sysctl/],
  ["ipc sysctl without ipc ns", (s) => {
    s.Linux!.Namespaces = s.Linux!.Namespaces!.filter((n) => n.Type !== "ipc");
    s.Linux!.Sysctl = { "kernel.msgmax": "10" };
  }, 'Spec.Linux.Sysctl["kernel.msgmax"]', /needs an ipc namespace/],
  ["kernel.hostname sysctl", (s) => void (s.Linux!.Sysctl = { "kernel.hostname": "x" }), 'Spec.Linux.Sysctl["kernel.hostname"]', /Spec\.Hostname/],
  ["bad propagation", (s) => void (s.Linux!.RootfsPropagation = "sideways"), "Spec.Linux.RootfsPropagation", /not a propagation mode/],
  ["relative masked path", (s) => void s.Linux!.MaskedPaths!.push("proc/kcore"), "Spec.Linux.MaskedPaths[10]", /not absolute/],
  ["'..' readonly path", (s) => void s.Linux!.ReadonlyPaths!.push("/proc/../etc"), "Spec.Linux.ReadonlyPaths[5]", /"\.\."/],
  ["device outside /dev", (s) => void (s.Linux!.Devices = [{ Path: "/etc/sda", Type: "b", Major: 8, Minor: 0 }]), "Spec.Linux.Devices[0].Path", /not under \/dev/],
  ["bad device type", (s) => void (s.Linux!.Devices = [{ Path: "/dev/x", Type: "z" }]), "Spec.Linux.Devices[0].Type", /not a device type/],
  ["bind over /proc/sys", (s) => void s.Mounts!.push({ destination: "/proc/sys", source: "/tmp", type: "bind", options: ["rbind"] }), "Spec.Mounts[7].destination", /over \/proc/],
  ["negative uid", (s) => void (s.Process!.User = { UID: -1 }), "Spec.Process.User.UID", /./],
  ["wrong type", (s) => void ((s.Process as { Args: unknown }).Args = ["sh", 5]), "Spec.Process.Args[1]", /string/],
];

describe("validateSpec rejects", () => {
  for (const [name, mutate, field, message] of rejected) {
    test(name, () => {
      const s = good();
      mutate(s);
      const e = errorOf(() => validateSpec(s));
      expect(e.field).toBe(field);
      expect(e.message.startsWith(field + " ")).toBe(true);
      expect(e.message).toMatch(message);
    });
  }
  test("no spec at all", () => {
    expect(errorOf(() => validateSpec(undefined)).field).toBe("Spec");
  });
});

describe("validateProcess (ExecProcess)", () => {
  test("accepts a plain process", () => {
    expect(() => validateProcess({ Args: ["ls"], Cwd: "/" })).not.toThrow();
  });
  test("names fields from Process", () => {
    expect(errorOf(() => validateProcess({ Args: [] })).field).toBe("Process.Args");
    expect(errorOf(() => validateProcess({ Args: ["ls"], Cwd: "x" })).field).toBe("Process.Cwd");
    expect(errorOf(() => validateProcess(null)).field).toBe("Process");
  });
});
