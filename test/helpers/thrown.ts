// The error a call throws, when it is of the expected class; anything else (another error, or no
// error at all) fails the test.
export function thrownAs<T extends Error>(cls: abstract new (...args: never[]) => T, f: () => unknown): T {
  try {
    f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}, got none`);
}
