// The helper-program runner (src/sys/run-program.ts): stdin from memory, both outputs captured
// and capped, exit codes and signals, timeouts that kill.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runProgram } from "../../src/sys/run-program.ts";
import { installReaper, stopReaper } from "../../src/sys/reaper.ts";

describe("runProgram", () => {
  beforeAll(() => installReaper());
  afterAll(() => stopReaper());

  test("stdin in, stdout and stderr out, exit code", async () => {
    const r = await runProgram("/bin/sh", ["-c", "tr a-z A-Z; echo oops >&2; exit 3"], { stdin: "hello\n" });
    expect(r).toEqual({ code: 3, timedOut: false, stdout: "HELLO\n", stderr: "oops\n" });
  });

  test("no stdin given: the program reads /dev/null (EOF at once)", async () => {
    const r = await runProgram("/bin/cat", []);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });

  test("output beyond the cap is read and dropped, the program is not blocked", async () => {
    const r = await runProgram("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' x"], { maxOutput: 1000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("x".repeat(1000));
  });

  test("a program past its timeout is killed and says so", async () => {
    const t0 = Date.now();
    const r = await runProgram("/bin/sleep", ["5"], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBe(128 + 9);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test("a missing program throws naming it", async () => {
    await expect(runProgram("/no/such/program", [])).rejects.toThrow(/\/no\/such\/program/);
  });
});
