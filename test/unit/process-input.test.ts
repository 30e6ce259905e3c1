// InputStream after the reader went away (issue 14 #8): the first write that meets EPIPE fails,
// stdin is closed from then on, and no write queued behind it may report bytes as written.
import { expect, test } from "bun:test";
import { kindOf } from "../../src/errors.ts";
import { InputStream } from "../../src/process/input.ts";
import { closeFd, pipe } from "../../src/sys/pipe.ts";

async function outcome(p: Promise<number>): Promise<string> {
  try {
    return `ok ${await p}`;
  } catch (e) {
    return `${kindOf(e)}: ${(e as Error).message}`;
  }
}

test("after EPIPE every write fails with a precondition status, even one queued behind it", async () => {
  // The reader goes away while the first write waits for room in a full pipe.
  const [r, w] = pipe();
  const stdin = new InputStream(w);
  const first = stdin.write(new Uint8Array(1 << 20));
  const second = stdin.write(new Uint8Array(10));
  await Bun.sleep(50);
  closeFd(r);
  const [a, b] = [await outcome(first), await outcome(second)];
  expect(a).toMatch(/^precondition: .*EPIPE/);
  expect(b).toMatch(/^precondition: stdin is closed/);
  expect(await outcome(stdin.write(new Uint8Array(5)))).toMatch(/^precondition: stdin is closed/);
  expect(stdin.isClosed).toBe(true);
});

test("a small write after EPIPE is not acknowledged either", async () => {
  const [r, w] = pipe();
  closeFd(r);
  const stdin = new InputStream(w);
  const results = await Promise.all([10, 10, 10].map((n) => outcome(stdin.write(new Uint8Array(n)))));
  expect(results.filter((x) => x.startsWith("ok"))).toEqual([]);
});
