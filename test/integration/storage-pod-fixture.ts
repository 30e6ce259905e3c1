// The pod of notes §2.2 as the Kata Go runtime sends it, replayed on the host: a host directory
// laid out like the runtime's share (<sid>/rootfs, <cid>/rootfs, <cid>-<hex>-<name> files, a
// kubelet-style ConfigMap), a private mount namespace held by a sleeping process (tmpfs on /run,
// the share bound at /run/kata-containers/shared/containers/ standing in for virtio-fs), and the
// CreateSandbox / CreateContainer requests field by field. The agent is started inside the
// namespace with nsenter; the test looks into it through /proc/<holder>/root and mountinfo.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { makeBusyboxRootfs } from "../fixtures/busybox.ts";
import { parseMountinfo, type MountInfo } from "../../src/sys/mountinfo.ts";
import type { RunningAgent } from "../helpers/agent.ts";
import { killAndRemoveCgroups, readAll, rpc, text } from "./containers-harness.ts";
import type { grpc } from "../../src/gen/index.ts";
import type { TtrpcClient } from "../../src/ttrpc/client.ts";

export const SHARED = "/run/kata-containers/shared/containers";
export const SHM = "/run/kata-containers/sandbox/shm";
const HEX = "0123456789abcdef";
const CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"];
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** containerd gives the pause container -998; lowering it needs CAP_SYS_RESOURCE, which some test
 *  machines (containers) do not have: then the field is left out (0). */
const CAP_SYS_RESOURCE = 24;
const hasSysResource = (BigInt(`0x${/CapEff:\s*(\w+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n;

export interface Pod {
  dir: string;
  /** The host directory the runtime shares (what virtiofsd would serve). */
  share: string;
  sid: string;
  cid: string;
  holder: Subprocess;
  holderPid: number;
  cgroupParent: string;
  sandboxReq: Record<string, unknown>;
  pauseReq: Record<string, unknown>;
  appReq: Record<string, unknown>;
  /** nsenter into the pod's mount namespace (exec's the agent: same pid). */
  wrap: string[];
  /** A guest path as seen from the host through the holder. */
  guest(path: string): string;
  /** Mounts of the namespace below /run/kata-containers and at /etc/resolv.conf. */
  kataMounts(): MountInfo[];
  /** Kubelet's atomic ConfigMap update: a new ..<ts> dir, ..data swapped by rename, the old dir removed. */
  updateConfigMap(value: string): void;
  cleanup(): void;
}

function configMapDir(share: string, name: string): string {
  return join(share, name);
}

function writeConfigMap(dir: string, value: string, seq: number): void {
  const ts = `..2026_12_06_00_00_0${seq}.000000000`;
  mkdirSync(join(dir, ts), { recursive: true });
  writeFileSync(join(dir, ts, "greeting"), value);
  const tmp = join(dir, "..data_tmp");
  symlinkSync(ts, tmp);
  const old = existsSync(join(dir, "..data")) ? readFileSync(join(dir, "..data", "..ts"), "utf8") : undefined;
  writeFileSync(join(dir, ts, "..ts"), ts);
  renameSync(tmp, join(dir, "..data"));
  if (!existsSync(join(dir, "greeting"))) symlinkSync("..data/greeting", join(dir, "greeting"));
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
}

/** inotifywait and its libraries copied into a rootfs (busybox-static has no inotifyd). */
function addInotifywait(rootfs: string): void {
  const p = Bun.spawnSync(["ldd", "/usr/bin/inotifywait"], { stdout: "pipe" });
  const libs = p.stdout.toString().split("\n").map((l) => /(\/\S+)/.exec(l)?.[1]).filter((x): x is string => !!x);
  for (const f of ["/usr/bin/inotifywait", ...libs]) {
    mkdirSync(dirname(join(rootfs, f)), { recursive: true });
    copyFileSync(f, join(rootfs, f));
  }
}

function baseMounts(): Record<string, unknown>[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // handleShm: /dev/shm rewritten to the sandbox's shm storage
    { destination: "/dev/shm", type: "bind", source: SHM, options: ["rbind"] },
  ];
}

function spec(o: { root: string; args: string[]; user: [number, number]; mounts: Record<string, unknown>[]; cgroupsPath: string; annotations: Record<string, string>; readonlyRoot: boolean; oomScoreAdj: number }): Record<string, unknown> {
  return {
    Version: "1.1.0",
    Process: {
      Terminal: false, User: { UID: o.user[0], GID: o.user[1], AdditionalGids: [o.user[1]] }, Args: o.args,
      Env: [PATH_ENV, "HOSTNAME=storage-pod"], Cwd: "/",
      Capabilities: { Bounding: CAPS, Effective: CAPS, Permitted: CAPS },
      NoNewPrivileges: true, OOMScoreAdj: hasSysResource ? o.oomScoreAdj : 0,
    },
    Root: { Path: o.root, Readonly: o.readonlyRoot },
    Hostname: "storage-pod",
    Mounts: [...baseMounts(), ...o.mounts],
    Annotations: o.annotations,
    Linux: {
      Resources: { CPU: { Shares: 2, Cpus: "" } },
      CgroupsPath: o.cgroupsPath,
      // constrainGRPCSpec drops network/cgroup/time, handlePidNamespace drops pid
      Namespaces: [{ Type: "ipc", Path: "" }, { Type: "uts", Path: "" }, { Type: "mount", Path: "" }],
      MaskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
      ReadonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

export async function makePod(tag: string): Promise<Pod> {
  const dir = mkdtempSync(join(tmpdir(), `kata-pod-${tag}-`));
  const share = join(dir, "shared");
  const sid = `5a${tag}`.padEnd(64, "0").slice(0, 64);
  const cid = `ca${tag}`.padEnd(64, "1").slice(0, 64);
  const cgroupParent = `kata-storage-test-${process.pid}-${tag}`;
  await makeBusyboxRootfs(join(share, sid, "rootfs"));
  const appRoot = await makeBusyboxRootfs(join(share, cid, "rootfs"));
  addInotifywait(appRoot);
  const f = (c: string, name: string) => `${c}-${HEX}-${name}`;
  writeFileSync(join(share, f(sid, "resolv.conf")), "nameserver 10.96.0.10\nsearch default.svc.cluster.local\n");
  for (const [name, text] of [["hosts", "127.0.0.1 localhost\n10.244.0.7 storage-pod\n"], ["hostname", "storage-pod\n"],
    ["resolv.conf", "nameserver 10.96.0.10\nsearch default.svc.cluster.local\n"], ["termination-log", ""]] as const) {
    writeFileSync(join(share, f(cid, name)), text);
  }
  const cm = configMapDir(share, f(cid, "config-volume"));
  writeConfigMap(cm, "hello v1", 1);
  mkdirSync(join(share, "watchable"), { recursive: true }); // the runtime makes it (container.go)
  let seq = 1;

  // The namespace: /run private (tmpfs), the share where virtio-fs would be.
  const holder = Bun.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c",
    `mount -t tmpfs -o mode=755 kata-test-run /run && mkdir -p ${SHARED} && mount --bind '${share}' ${SHARED} && echo ready && exec sleep 100000`],
  { stdout: "pipe", stderr: "pipe" });
  const reader = holder.stdout.getReader();
  const first = await reader.read();
  reader.releaseLock();
  if (!new TextDecoder().decode(first.value ?? new Uint8Array()).includes("ready")) {
    holder.kill(9);
    throw new Error(`mount namespace holder failed: ${await new Response(holder.stderr).text()}`);
  }
  const holderPid = holder.pid;
  const ann = (type: string) => ({
    "io.kubernetes.cri.container-type": type, "io.kubernetes.cri.sandbox-id": sid, "io.kubernetes.cri.sandbox-name": "storage-pod",
    "io.kubernetes.cri.sandbox-namespace": "default",
  });
  const sandboxReq = {
    hostname: "storage-pod",
    dns: ["nameserver 10.96.0.10", "search default.svc.cluster.local svc.cluster.local", "options ndots:5"],
    storages: [
      { driver: "virtio-fs", source: "kataShared", fstype: "virtiofs", options: [], mount_point: `${SHARED}/` },
      { driver: "ephemeral", source: "shm", fstype: "tmpfs", options: ["noexec", "nosuid", "nodev", "mode=1777", `size=${64 << 20}`], mount_point: SHM },
    ],
    sandbox_pidns: false, sandbox_id: sid, guest_hook_path: "", kernel_modules: [],
  };
  const pauseReq = {
    container_id: sid, exec_id: sid, storages: [], devices: [], sandbox_pidns: false,
    OCI: spec({
      root: `${SHARED}/${sid}/rootfs`, args: ["sleep", "100000"], user: [65535, 65535], readonlyRoot: true, oomScoreAdj: -998,
      cgroupsPath: `/${cgroupParent}/${sid}`, annotations: ann("sandbox"),
      mounts: [{ destination: "/etc/resolv.conf", type: "bind", source: `${SHARED}/${f(sid, "resolv.conf")}`, options: ["rbind", "ro", "nosuid", "nodev", "noexec"] }],
    }),
  };
  const watchable = `${SHARED}/watchable/${f(cid, "config-volume")}`;
  const ephemeral = "/run/kata-containers/sandbox/ephemeral/cache-volume";
  const local = `${SHARED}/${sid}/rootfs/local/data-volume`;
  const appReq = {
    container_id: cid, exec_id: cid, devices: [], sandbox_pidns: false,
    storages: [
      { driver: "watchable-bind", source: `${SHARED}/${f(cid, "config-volume")}`, fstype: "bind", options: ["rbind", "ro"], mount_point: watchable },
      { driver: "ephemeral", source: "tmpfs", fstype: "tmpfs", options: ["fsgid=2000"], mount_point: ephemeral },
      { driver: "local", source: "local", fstype: "local", options: ["mode=0777", "fsgid=3000"], mount_point: local },
    ],
    OCI: spec({
      root: `${SHARED}/${cid}/rootfs`, args: ["sleep", "100000"], user: [0, 0], readonlyRoot: false, oomScoreAdj: 1000,
      cgroupsPath: `/${cgroupParent}/${cid}`,
      annotations: { ...ann("container"), "io.kubernetes.cri.container-name": "app", "io.kubernetes.container.terminationMessagePath": "/dev/termination-log" },
      mounts: [
        { destination: "/etc/config", type: "bind", source: watchable, options: ["rbind", "ro"] },
        { destination: "/cache", type: "bind", source: ephemeral, options: ["rbind"] },
        { destination: "/data", type: "bind", source: local, options: ["rbind"] },
        { destination: "/etc/hosts", type: "bind", source: `${SHARED}/${f(cid, "hosts")}`, options: ["rbind", "rprivate", "rw"] },
        { destination: "/dev/termination-log", type: "bind", source: `${SHARED}/${f(cid, "termination-log")}`, options: ["rbind", "rprivate", "rw"] },
        { destination: "/etc/hostname", type: "bind", source: `${SHARED}/${f(cid, "hostname")}`, options: ["rbind", "rprivate", "rw"] },
        { destination: "/etc/resolv.conf", type: "bind", source: `${SHARED}/${f(cid, "resolv.conf")}`, options: ["rbind", "rprivate", "rw"] },
      ],
    }),
  };
  return {
    dir, share, sid, cid, holder, holderPid, cgroupParent, sandboxReq, pauseReq, appReq,
    wrap: ["nsenter", "-t", String(holderPid), "-m", "--"],
    guest: (p) => `/proc/${holderPid}/root${p}`,
    kataMounts: () => parseMountinfo(readFileSync(`/proc/${holderPid}/mountinfo`, "utf8"))
      .filter((m) => m.mountPoint.startsWith("/run/kata-containers") || m.mountPoint === "/etc/resolv.conf"),
    updateConfigMap: (value) => writeConfigMap(cm, value, ++seq),
    cleanup: () => {
      holder.kill(9);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The afterAll of every pod suite: the agent stopped, then its cgroups and the pod's namespace
 *  and directories removed (each step tolerates what a failed test left half made). */
export async function stopPod(agent: RunningAgent | undefined, pod: Pod | undefined): Promise<void> {
  await agent?.stop();
  if (!pod) return;
  killAndRemoveCgroups(pod.cgroupParent);
  pod.cleanup();
}

let execSeq = 0;

/** `sh -c script` in a container of the pod (as root, PATH=/usr/bin:/bin); its stdout. */
export async function podExec(c: TtrpcClient, cid: string, script: string): Promise<string> {
  const id = `e${++execSeq}`;
  await rpc(c, "ExecProcess", {
    container_id: cid, exec_id: id,
    process: { Args: ["sh", "-c", script], Env: ["PATH=/usr/bin:/bin"], Cwd: "/", User: { UID: 0, GID: 0 } } as grpc.IProcess,
  });
  const out = await readAll(c, cid, id, "ReadStdout");
  await rpc(c, "WaitProcess", { container_id: cid, exec_id: id });
  return text(out);
}
