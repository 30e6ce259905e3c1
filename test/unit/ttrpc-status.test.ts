import { expect, test } from "bun:test";
import { Code, codeName, RpcError, toRpcError } from "../../src/ttrpc/status.ts";

test("codes have gRPC's numbers", () => {
  expect([Code.OK, Code.INVALID_ARGUMENT, Code.DEADLINE_EXCEEDED, Code.NOT_FOUND, Code.RESOURCE_EXHAUSTED,
    Code.UNIMPLEMENTED, Code.UNAVAILABLE, Code.UNAUTHENTICATED]).toEqual([0, 3, 4, 5, 8, 12, 14, 16]);
  expect(codeName(5)).toBe("NOT_FOUND");
  expect(codeName(99)).toBe("CODE_99");
});

test("RpcError keeps code, message and details; prints like Go", () => {
  const e = new RpcError(Code.NOT_FOUND, "no such process", [Uint8Array.of(1)]);
  expect(e).toBeInstanceOf(Error);
  expect(e.code).toBe(5);
  expect(e.message).toBe("no such process");
  expect(e.details.length).toBe(1);
  expect(String(e)).toBe("rpc error: code = NOT_FOUND desc = no such process");
});

test("toRpcError: RpcError passes through, other throws become UNKNOWN", () => {
  const e = new RpcError(Code.ABORTED, "x");
  expect(toRpcError(e)).toBe(e);
  expect(toRpcError(new TypeError("boom"))).toMatchObject({ code: Code.UNKNOWN, message: "boom" });
  expect(toRpcError("text")).toMatchObject({ code: Code.UNKNOWN, message: "text" });
});
