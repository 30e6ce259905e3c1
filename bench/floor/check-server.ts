// The floor of start-to-ready for any Bun program: the least a Bun server can do to answer a
// Check (one listening socket, every request frame answered with SERVING; no configuration,
// logging, protobuf or services). The bench times it exactly as it times the agent, on the host
// (argument unix:PATH) and as a guest's PID 1 in the agent's place (no argument: vsock port
// 1024, where the guest's check client asks), so a start-up row can say how much of its figure
// is Bun's own start and how much is the agent's.
// A ttRPC response frame: length 4, the request's stream id, type 2 (response), no flags; the
// payload is Response{payload: HealthCheckResponse{status: SERVING}}.
export {};

const answer = (streamId: number): Buffer => {
  const out = Buffer.alloc(14);
  out.writeUInt32BE(4, 0);
  out.writeUInt32BE(streamId, 4);
  out[8] = 2;
  out.set([0x12, 0x02, 0x08, 0x01], 10);
  return out;
};

const socket = {
  data(s: { write(b: Buffer): number }, d: Buffer) {
    // One frame per read is enough for the bench's clients (one Check, then they hang up).
    if (d.length >= 10) s.write(answer(d.readUInt32BE(4)));
  },
};

const arg = process.argv[2] ?? "";
if (arg.startsWith("unix:")) {
  Bun.listen({ unix: arg.slice(5), socket });
} else {
  // vsock needs libc through bun:ffi (as the agent does); the host form does without it.
  const { vsockListen } = await import("../../src/sys/socket.ts");
  (Bun.listen as (o: unknown) => unknown)({ fd: vsockListen(0xffffffff, 1024), socket });
  // As a guest's PID 1 it must never exit (the kernel would panic); the VM is powered off.
  setInterval(() => {}, 1 << 30);
}
