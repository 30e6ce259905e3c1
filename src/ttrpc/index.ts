// The ttRPC package's public surface: import from here.
export { TtrpcServer, type ServerOptions } from "./server.ts";
export { TtrpcClient, type CallOptions, type ConnectOptions, type RawFrame } from "./client.ts";
export type { CallContext, Handler } from "./call.ts";
export { Code, codeName, RpcError, toRpcError } from "./status.ts";
export { AddressError, formatAddress, parseAddress, type Address } from "./address.ts";
export { MAX_MESSAGE } from "./frame.ts";
