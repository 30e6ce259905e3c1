// IP and MAC addresses between text and bytes, strictly: a request's "10.0.0.1/33" or "::zz" is
// refused (null here, INVALID_ARGUMENT naming the field in validate.ts), never guessed at.
// Output follows what Go's net package prints (the runtime compares our answers with its own
// values): dotted quads, RFC 5952 IPv6, lowercase colon-separated MACs.

export type Family = 4 | 6;

export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(s: string): Uint8Array | null {
  if (s.length === 0 || s.length > 45) return null;
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const words: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      words.push(parseInt(p, 16));
    }
    return words;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes(".")) return null;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const words = [...head, ...new Array(8 - total).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** An address of either family: the family is decided by the text. */
export function parseIP(s: string): { family: Family; bytes: Uint8Array } | null {
  const v4 = parseIPv4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(s);
  return v6 ? { family: 6, bytes: v6 } : null;
}

export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return "";
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // RFC 5952: the longest run of two or more zero words becomes "::" (the first on a tie).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** "a.b.c.d/n" or "x::y/n"; without "/n" the prefix is the full length. */
export function parseCIDR(s: string): { family: Family; bytes: Uint8Array; prefix: number; hadPrefix: boolean } | null {
  const slash = s.indexOf("/");
  const ip = parseIP(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefix: max, hadPrefix: false };
  const prefix = parsePrefix(s.slice(slash + 1), max);
  return prefix === null ? null : { ...ip, prefix, hadPrefix: true };
}

/** A decimal prefix length 0..max ("24"), no sign, no leading zeros. */
export function parsePrefix(s: string, max: number): number | null {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

/** "aa:bb:cc:dd:ee:ff" (or with '-'); case-insensitive. */
export function parseMAC(s: string): Uint8Array | null {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return null;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMAC(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
