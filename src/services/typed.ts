// Turns a generated service table (src/gen/services.ts) plus an object of typed handlers into
// the byte-level handlers the ttRPC server calls. Decoding failures are INVALID_ARGUMENT; methods
// without a handler answer UNIMPLEMENTED "<Rpc> is not implemented yet"; errors thrown by the
// domain go through statusFor().
import type { CallContext, Handler } from "../ttrpc/server.ts";
import type { Payload } from "../ttrpc/call.ts";
import { Code, RpcError } from "../ttrpc/status.ts";
import { statusFor } from "./errors.ts";

interface Codec {
  decode(b: Uint8Array): unknown;
  encode(m: never): { finish(): Uint8Array };
}
interface MethodDef {
  request: Codec;
  response: Codec;
  requestName: string;
}
export interface ServiceDef {
  name: string;
  methods: Record<string, MethodDef>;
}

// Handlers are typed per method where they are written (services/deps.ts AgentHandlers); this
// table only sees them as functions of a decoded request.
export type TypedHandler = (req: never, ctx: CallContext) => Promise<unknown> | unknown;

/**
 * A response the handler encoded itself, as parts sent without joining (see encodeBytesField1).
 * Used for ReadStdout/ReadStderr so container output is never copied in JavaScript.
 */
export class EncodedParts {
  constructor(readonly parts: Uint8Array[]) {}
}

/** A message whose only field is `bytes` field 1 (ReadStreamResponse{data}), from chunks. */
export function encodeBytesField1(chunks: Uint8Array[]): EncodedParts {
  let n = 0;
  for (const c of chunks) n += c.length;
  if (n === 0) return new EncodedParts([]);
  const prefix = [0x0a];
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) { prefix.push(v); break; }
    prefix.push((v % 128) | 0x80);
  }
  return new EncodedParts([new Uint8Array(prefix), ...chunks]);
}

export function typedHandlers(def: ServiceDef, impl: Record<string, TypedHandler | undefined>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const [method, m] of Object.entries(def.methods)) {
    const h = impl[method];
    if (!h) {
      out[method] = () => {
        throw new RpcError(Code.UNIMPLEMENTED, `${method} is not implemented yet`);
      };
      continue;
    }
    const encode = (res: unknown): Payload =>
      res instanceof EncodedParts ? res.parts : m.response.encode((res ?? {}) as never).finish();
    // Synchronous all the way when the handler is (Check, most guest RPCs): the server then
    // answers in the same turn, without a promise hop per call.
    out[method] = (payload, ctx) => {
      let req: unknown;
      try {
        // A plain Uint8Array view, not a Buffer: protobufjs's BufferReader clamps a truncated
        // length-delimited field instead of failing, which would accept corrupt requests.
        const bytes = payload instanceof Buffer ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) : payload;
        req = m.request.decode(bytes);
      } catch (e) {
        throw new RpcError(Code.INVALID_ARGUMENT, `${method}: cannot decode ${m.requestName}: ${(e as Error).message}`);
      }
      let res: unknown;
      try {
        res = h(req as never, ctx);
      } catch (e) {
        throw statusFor(method, e);
      }
      if (res instanceof Promise) {
        return res.then(encode, (e) => {
          throw statusFor(method, e);
        });
      }
      return encode(res);
    };
  }
  for (const name of Object.keys(impl)) {
    if (!(name in def.methods)) throw new Error(`${def.name} has no method ${name}`);
  }
  return out;
}
