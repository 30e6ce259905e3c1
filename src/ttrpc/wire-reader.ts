// The few protobuf wire-format reads the ttRPC envelope needs (varints, length-delimited views,
// skipping unknown fields), so the server does not load the protobuf runtime at start-up (~1 ms
// of module evaluation, bench/: start-to-ready). It behaves as protobufjs's Reader did here:
// truncated input throws a RangeError, views share the input's memory, unknown wire types throw.
const TWO_32 = 4294967296;

function outOfRange(r: WireReader, n = 1): RangeError {
  return new RangeError(`index out of range: ${r.pos} + ${n} > ${r.len}`);
}

export class WireReader {
  pos = 0;
  readonly len: number;

  constructor(readonly buf: Uint8Array) {
    this.len = buf.length;
  }

  /** A varint's low 32 bits, unsigned (more than 5 bytes: the rest must still be there). */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.len) throw outOfRange(this);
      const b = this.buf[this.pos++]!;
      value = shift < 28 ? value | ((b & 127) << shift) : value | ((b & 15) << 28);
      if (b < 128) return value >>> 0;
    }
    // Bytes 6..10 of a 64-bit varint: skipped unread, as protobufjs does.
    if ((this.pos += 5) > this.len) {
      this.pos = this.len;
      throw outOfRange(this, 10);
    }
    return value >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** A 64-bit varint as a signed number (two's complement, like protobufjs's int64 without Long). */
  int64(): number {
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (;; i++) {
      if (i >= 10) throw new RangeError("invalid varint encoding");
      if (this.pos >= this.len) throw outOfRange(this);
      const b = this.buf[this.pos++]!;
      if (i < 4) lo = (lo | ((b & 127) << (i * 7))) >>> 0;
      else if (i === 4) {
        lo = (lo | ((b & 127) << 28)) >>> 0;
        hi = (b & 127) >>> 4;
      } else hi = (hi | ((b & 127) << (i * 7 - 32))) >>> 0;
      if (b < 128) break;
    }
    if (hi >>> 31) {
      lo = (~lo + 1) >>> 0;
      hi = ~hi >>> 0;
      if (!lo) hi = (hi + 1) >>> 0;
      return -(lo + hi * TWO_32);
    }
    return lo + hi * TWO_32;
  }

  /** A length-delimited field's bytes, as a view of the input (no copy). */
  bytes(): Uint8Array {
    const n = this.uint32();
    const start = this.pos;
    if (start + n > this.len) throw outOfRange(this, n);
    this.pos += n;
    return this.buf.subarray(start, start + n);
  }

  skip(n: number): void {
    if (this.pos + n > this.len) throw outOfRange(this, n);
    this.pos += n;
  }

  /** Skips one field's value of the given wire type. */
  skipType(wire: number): void {
    switch (wire) {
      case 0:
        do {
          if (this.pos >= this.len) throw outOfRange(this);
        } while (this.buf[this.pos++]! & 128);
        break;
      case 1:
        this.skip(8);
        break;
      case 2:
        this.skip(this.uint32());
        break;
      case 3:
        for (let w = this.uint32() & 7; w !== 4; w = this.uint32() & 7) this.skipType(w);
        break;
      case 5:
        this.skip(4);
        break;
      default:
        throw new Error(`invalid wire type ${wire} at offset ${this.pos}`);
    }
  }
}
