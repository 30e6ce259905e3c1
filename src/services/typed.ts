// Turns a generated service table (src/gen/services.ts) plus an object of typed handlers into
// the byte-level handlers the ttRPC server calls. Decoding failures are INVALID_ARGUMENT; methods
// without a handler answer UNIMPLEMENTED "<Rpc> is not implemented yet"; errors thrown by the
// domain go through statusFor().
import type { CallContext, Handler } from "../ttrpc/server.ts";
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

export type TypedHandler = (req: any, ctx: CallContext) => Promise<unknown> | unknown;

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
    out[method] = async (payload, ctx) => {
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
        res = await h(req, ctx);
      } catch (e) {
        throw statusFor(method, e);
      }
      return m.response.encode((res ?? {}) as never).finish();
    };
  }
  for (const name of Object.keys(impl)) {
    if (!(name in def.methods)) throw new Error(`${def.name} has no method ${name}`);
  }
  return out;
}
