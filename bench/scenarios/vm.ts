// 8. VM: placeholder until wired to test/vm.
import type { BenchContext } from "../lib/context.ts";
import type { Row } from "../lib/report.ts";
export async function vmRows(_ctx: BenchContext): Promise<Row[]> {
  return [{ id: "vm_ready", what: "VM: QEMU start → first Check", unit: "ms", value: null, anchor: null, anchorName: "", na: "not wired yet" }];
}
