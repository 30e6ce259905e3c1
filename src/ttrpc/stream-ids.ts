// Which client stream ids a connection has already seen. ttRPC clients number their streams with
// rising odd ids, but a multi-threaded client (Rust ttrpc hands ids out before queueing the send)
// can put two concurrent requests on the wire slightly out of order. So: an id above every id seen
// is new; an id a little below (within WINDOW ids) is accepted once; older ids are refused.

const WINDOW = 1024; // odd ids remembered below the highest one (a power of two)

export class StreamIdWindow {
  private highest = -1; // highest id accepted so far, -1 = none yet
  private readonly seen = new Uint8Array(WINDOW); // ring, slot = (id >>> 1) & (WINDOW - 1)

  /** Records `id` and returns true when it is a fresh odd id; false for even, reused or too old ids. */
  accept(id: number): boolean {
    if (id % 2 !== 1) return false;
    const slot = (id >>> 1) & (WINDOW - 1);
    if (id > this.highest) {
      const step = this.highest < 0 ? WINDOW : (id - this.highest) / 2;
      if (step >= WINDOW) this.seen.fill(0);
      else for (let k = 1; k <= step; k++) this.seen[((this.highest >>> 1) + k) & (WINDOW - 1)] = 0;
      this.highest = id;
      this.seen[slot] = 1;
      return true;
    }
    if ((this.highest - id) / 2 >= WINDOW) return false; // older than we can vouch for
    if (this.seen[slot]) return false;
    this.seen[slot] = 1;
    return true;
  }

  get last(): number {
    return this.highest;
  }
}
