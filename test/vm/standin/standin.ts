// STAND-IN for the real agent, used only to prove the VM pipeline (kernel, modules, initrd, hook,
// PID 1, serial markers, vsock loopback, power-off) before dist/kata-agent exists.
// Compiled with `bun build --compile`, installed by osbuilder-hook as /sbin/init.
//
// As PID 1 ("agent mode") it does the few things the real agent does in init mode that the pipeline
// can observe: mounts cgroup2 on /sys/fs/cgroup, listens on agent.server_addr (vsock), answers
// line-based commands ("Check" -> "ok SERVING", "DestroySandbox" -> "ok" then sync + power off).
// Invoked as kata-agent-ctl (or `<binary> ctl`) it is the matching client:
//   kata-agent-ctl connect --server-address vsock://1:1024 -c Check
// This is NOT the ttRPC protocol: it only shows that a second process of the same binary reaches
// PID 1 over in-guest vsock loopback, the way the real ctl will.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { C, check, cstr, ptr, retry } from "../../../src/sys/libc.ts";

const AF_VSOCK = 40;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const VMADDR_CID_ANY = 0xffffffff;
const RB_POWER_OFF = 0x4321fedc;

function marker(text: string): void {
  // One write per line, so lines from the guest script and from us do not interleave mid-line.
  process.stdout.write(`VMTEST ${text}\n`);
}

function sockaddrVm(cid: number, port: number): Buffer {
  const sa = Buffer.alloc(16); // struct sockaddr_vm: family, reserved, port, cid, flags, zero[3]
  sa.writeUInt16LE(AF_VSOCK, 0);
  sa.writeUInt32LE(port, 4);
  sa.writeUInt32LE(cid >>> 0, 8);
  return sa;
}

/** vsock://CID:PORT, where CID -1 means "any" (as in Kata's agent.server_addr). */
function parseVsockAddress(addr: string): { cid: number; port: number } {
  const m = /^vsock:\/\/(-?\d+):(\d+)$/.exec(addr);
  if (!m) throw new Error(`stand-in only understands vsock://CID:PORT addresses, got ${addr}`);
  const cid = Number(m[1]);
  return { cid: cid === -1 ? VMADDR_CID_ANY : cid, port: Number(m[2]) };
}

function isMounted(target: string, fstype: string): boolean {
  // mountinfo: "... mount-point ... - fstype source options"
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => {
      const [left, right] = line.split(" - ");
      return left?.split(" ")[4] === target && right?.split(" ")[0] === fstype;
    });
}

const MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8;

/** Mounts like the agent's init mode does: only what is not mounted yet. Returns true if it mounted. */
function mountIfMissing(fstype: string, target: string, flags: number, data = ""): boolean {
  if (isMounted(target, fstype)) return false;
  const [src, dir, type, opts] = [cstr(fstype), cstr(target), cstr(fstype), cstr(data)];
  check(`mount ${fstype} on ${target}`, C.mount(ptr(src), ptr(dir), ptr(type), flags, ptr(opts)));
  return true;
}

function powerOff(): never {
  C.sync();
  C.reboot(RB_POWER_OFF);
  process.exit(1); // only reached when reboot() failed (not PID 1 / no CAP_SYS_BOOT)
}

// Bun.listen({ fd }) works at run time (see the shared notes) but bun-types only declares the
// hostname/port and unix overloads.
const listenOnFd = Bun.listen as unknown as (options: Bun.FdSocketOptions<{ buf: string }>) => unknown;

function agentMode(): void {
  const pid = C.getpid();
  marker(`standin_pid=${pid}`);
  if (pid !== 1) throw new Error("the stand-in agent must run as PID 1 inside the VM");
  // /proc is always there: Bun cannot start without it (the init shim mounted it).
  const premounted = ["proc", "sysfs", "devtmpfs"].filter((t) =>
    readFileSync("/proc/self/mountinfo", "utf8").includes(` - ${t} `),
  );
  marker(`standin_premounted=${premounted.join(",")}`);
  const mounted = [
    mountIfMissing("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC) && "sysfs",
    mountIfMissing("devtmpfs", "/dev", MS_NOSUID, "mode=0755") && "devtmpfs",
    mountIfMissing("cgroup2", "/sys/fs/cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate") && "cgroup2",
  ].filter(Boolean);
  marker(`standin_mounted=${mounted.join(",")}`);

  const cmdline = readFileSync("/proc/cmdline", "utf8");
  const addr = /(?:^|\s)agent\.server_addr=(\S+)/.exec(cmdline)?.[1] ?? "vsock://-1:1024";
  const { cid, port } = parseVsockAddress(addr);
  const fd = check("socket", C.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  const sa = sockaddrVm(cid, port);
  check("bind", C.bind(fd, ptr(sa), sa.length));
  check("listen", C.listen(fd, 64));
  listenOnFd({
    fd,
    data: { buf: "" },
    socket: {
      open(s) {
        s.data = { buf: "" };
      },
      data(s, chunk) {
        s.data.buf += chunk.toString();
        let nl: number;
        while ((nl = s.data.buf.indexOf("\n")) >= 0) {
          const cmd = s.data.buf.slice(0, nl).trim();
          s.data.buf = s.data.buf.slice(nl + 1);
          if (cmd === "Check") s.write("ok SERVING\n");
          else if (cmd === "DestroySandbox") {
            s.write("ok\n");
            s.end();
            marker("standin_poweroff=yes");
            setTimeout(powerOff, 50); // let the reply and the marker leave first
          } else s.write(`error unknown command ${cmd}\n`);
        }
      },
    },
  });
  marker(`standin_listening=${addr}`);
}

function ctlMode(args: string[]): never {
  let addr = "";
  const commands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--server-address") addr = args[++i] ?? "";
    else if (args[i] === "-c") commands.push(args[++i] ?? "");
  }
  if (args[0] !== "connect" || !addr || commands.length === 0) {
    console.error("usage: kata-agent-ctl connect --server-address vsock://CID:PORT -c CMD [-c CMD]...");
    process.exit(2);
  }
  const { cid, port } = parseVsockAddress(addr);
  const fd = check("socket", C.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sa = sockaddrVm(cid, port);
  retry("connect", () => C.connect(fd, ptr(sa), sa.length));
  const buf = new Uint8Array(new ArrayBuffer(4096));
  let failed = false;
  for (const cmd of commands) {
    const req = Buffer.from(cmd + "\n");
    retry("write", () => C.write(fd, ptr(req), req.length));
    let reply = "";
    while (!reply.includes("\n")) {
      const n = retry("read", () => C.read(fd, ptr(buf), buf.length));
      if (n === 0) break;
      reply += Buffer.from(buf.subarray(0, n)).toString();
    }
    reply = reply.trim();
    console.log(`${cmd}: ${reply}`);
    if (!reply.startsWith("ok")) failed = true;
  }
  C.close(fd);
  process.exit(failed ? 1 : 0);
}

const invokedAs = basename(process.argv0);
const userArgs = process.argv.slice(2);
if (invokedAs === "kata-agent-ctl") ctlMode(userArgs);
else if (userArgs[0] === "ctl") ctlMode(userArgs.slice(1));
else agentMode();
