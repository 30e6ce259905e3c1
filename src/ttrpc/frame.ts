// ttRPC framing: a 10-byte header (u32 BE length, u32 BE stream id, u8 type, u8 flags) then the
// body. The parser is fed socket chunks as they arrive and calls its sink once per frame; a frame
// whose declared length exceeds the cap is skipped byte by byte (never buffered) and reported.

export const HEADER_LENGTH = 10;
/** 4 MiB, containerd/ttrpc's messageLengthMax. */
export const MAX_MESSAGE = 4 << 20;

export enum FrameType {
  Request = 1,
  Response = 2,
  Data = 3,
}

export const Flags = {
  RemoteClosed: 0x1,
  RemoteOpen: 0x2,
  NoData: 0x4,
} as const;

export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

export function writeHeader(buf: Uint8Array, length: number, streamId: number, type: number, flags: number): void {
  buf[0] = length >>> 24;
  buf[1] = length >>> 16;
  buf[2] = length >>> 8;
  buf[3] = length;
  buf[4] = streamId >>> 24;
  buf[5] = streamId >>> 16;
  buf[6] = streamId >>> 8;
  buf[7] = streamId;
  buf[8] = type;
  buf[9] = flags;
}

export function readHeader(buf: Uint8Array, at = 0): FrameHeader {
  return {
    length: readU32(buf, at),
    streamId: readU32(buf, at + 4),
    type: buf[at + 8]!,
    flags: buf[at + 9]!,
  };
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** One frame (header + body) in a single fresh buffer. */
export function encodeFrame(streamId: number, type: number, flags: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(out, body.length, streamId, type, flags);
  out.set(body, HEADER_LENGTH);
  return out;
}

/** Receives parsed frames. An interface (not closures) so one object serves a whole connection. */
export interface FrameSink {
  /** `body` may be a view into the socket chunk; it is never reused by the parser afterwards. */
  onFrame(streamId: number, type: number, flags: number, body: Uint8Array): void;
  /** Called once the whole body of an oversize frame has been skipped. */
  onOversize(streamId: number, type: number, flags: number, length: number): void;
}

const enum State {
  Header,
  Body,
  Skip,
}

/**
 * Streaming frame parser. Copies only when it must: a header split across chunks goes through a
 * 10-byte scratch, a body split across chunks is assembled once into a buffer of its exact size;
 * a body inside one chunk is handed over as a subarray of that chunk.
 */
export class FrameParser {
  private state = State.Header;
  private readonly header = new Uint8Array(HEADER_LENGTH);
  private headerFill = 0;
  private length = 0;
  private streamId = 0;
  private type = 0;
  private flags = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private skipLeft = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessage = MAX_MESSAGE,
  ) {}

  /** True when no partial frame is pending (a clean point to stop). */
  get idle(): boolean {
    return this.state === State.Header && this.headerFill === 0;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.state === State.Header) {
        if (this.headerFill === 0 && end - at >= HEADER_LENGTH) {
          this.takeHeader(chunk, at);
          at += HEADER_LENGTH;
        } else {
          const n = Math.min(HEADER_LENGTH - this.headerFill, end - at);
          this.header.set(chunk.subarray(at, at + n), this.headerFill);
          this.headerFill += n;
          at += n;
          if (this.headerFill < HEADER_LENGTH) return;
          this.headerFill = 0;
          this.takeHeader(this.header, 0);
        }
        // A zero-length body completes the frame right away.
        // (takeHeader changed the state; the cast stops TypeScript from narrowing it to Header.)
        const next = this.state as State;
        if (next === State.Body && this.length === 0) this.emit(chunk.subarray(at, at));
        else if (next === State.Skip && this.skipLeft === 0) this.emitOversize();
        continue;
      }
      if (this.state === State.Skip) {
        const n = Math.min(this.skipLeft, end - at);
        this.skipLeft -= n;
        at += n;
        if (this.skipLeft === 0) this.emitOversize();
        continue;
      }
      // State.Body
      if (this.body === null && end - at >= this.length) {
        const body = chunk.subarray(at, at + this.length);
        at += this.length;
        this.emit(body);
        continue;
      }
      if (this.body === null) {
        this.body = Buffer.allocUnsafe(this.length);
        this.bodyFill = 0;
      }
      const n = Math.min(this.length - this.bodyFill, end - at);
      this.body.set(chunk.subarray(at, at + n), this.bodyFill);
      this.bodyFill += n;
      at += n;
      if (this.bodyFill === this.length) {
        const body = this.body;
        this.body = null;
        this.emit(body);
      }
    }
  }

  private takeHeader(b: Uint8Array, at: number): void {
    this.length = readU32(b, at);
    this.streamId = readU32(b, at + 4);
    this.type = b[at + 8]!;
    this.flags = b[at + 9]!;
    if (this.length > this.maxMessage) {
      this.state = State.Skip;
      this.skipLeft = this.length;
    } else {
      this.state = State.Body;
    }
  }

  private emit(body: Uint8Array): void {
    this.state = State.Header;
    this.sink.onFrame(this.streamId, this.type, this.flags, body);
  }

  private emitOversize(): void {
    this.state = State.Header;
    this.sink.onOversize(this.streamId, this.type, this.flags, this.length);
  }
}
