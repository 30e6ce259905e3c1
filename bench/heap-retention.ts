// Is anything retained per container lifecycle in the JS heap? Runs the domain layer in-process
// (Sandbox → Container → launcher; no ttRPC), 200 warm-up lifecycles, then 1000 more, with full
// GCs and the 10 s post-wait grace elapsed, and compares bun:jsc heapStats (heap size, object
// counts by type). Root only. `bun bench/heap-retention.ts [N]`
import { heapStats } from "bun:jsc";
import { Sandbox } from "../src/sandbox/sandbox.ts";
import { log, Level } from "../src/log/logger.ts";
import { installReaper } from "../src/sys/reaper.ts";
import { minimalSpec } from "../src/ctl/oci-json.ts";
import { makeBusyboxRootfs } from "../test/fixtures/busybox.ts";
const rootfs = await makeBusyboxRootfs(`${import.meta.dir}/../test/.work/heap-rootfs`);
log.setLevel(Level.Error);
installReaper(log);
const sb = new Sandbox({ log, cgroupVersion: 1, pipeSize: 0, ownsMachine: false });
async function cycle(i: number) {
  const spec = minimalSpec({ rootfs, args: ["/bin/true"] }) as any;
  spec.Linux.CgroupsPath = `/heapt/c${i}`;
  const c = await sb.createContainer({ id: `c${i}`, execId: `c${i}`, spec, sandboxPidns: false });
  await c.start();
  await c.process("").wait();
  await sb.removeContainer(`c${i}`, 0);
}
for (let i = 0; i < 200; i++) await cycle(i);
Bun.gc(true); await Bun.sleep(11000); Bun.gc(true);
const a = heapStats();
const n = Number(process.argv[2] ?? 1000);
for (let i = 200; i < 200 + n; i++) await cycle(i);
Bun.gc(true); await Bun.sleep(11000); Bun.gc(true);
const b = heapStats();
console.log("heap", (a.heapSize / 1048576).toFixed(2), "→", (b.heapSize / 1048576).toFixed(2), "MiB; objects", a.objectCount, "→", b.objectCount);
const diff = Object.entries(b.objectTypeCounts).map(([k, v]) => [k, v - (a.objectTypeCounts[k] ?? 0)] as const).filter(([, d]) => d > 50).sort((x, y) => y[1] - x[1]);
console.log(diff.slice(0, 20));
process.exit(0);
