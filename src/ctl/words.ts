// Splits one agent-ctl command line into words, close to what a POSIX shell does, with two
// differences that suit request arguments:
//   - A backslash escapes only a quote, a backslash or whitespace; before any other character
//     it is kept, so byte values can carry escapes (data=hi\n) that request.ts decodes later.
//   - A word starting with `json://` takes a whole JSON value, spaces and quotes included
//     (json://{"container_id": "c1", "exec_id": "e 1"}), ending where the value's brackets close;
//     likewise the value of a `name=json://…` word.

import { CtlSyntaxError } from "./errors.ts";

const JSON_PREFIX = "json://";

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** Index just past the JSON value (object, array, string or bare scalar) that starts at `start`. */
function endOfJsonValue(line: string, start: number): number {
  const first = line[start];
  if (first !== "{" && first !== "[") {
    // A bare scalar or a string ends at the next whitespace (outside a string).
    let i = start;
    let inString = false;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (isSpace(c)) break;
    }
    return i;
  }
  let depth = 0;
  let inString = false;
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new CtlSyntaxError(`unterminated JSON after ${JSON_PREFIX} (missing closing bracket)`);
}

/** Splits a command line into words; throws CtlSyntaxError on an unterminated quote or JSON value. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (!inWord && isSpace(c)) {
      i++;
      continue;
    }
    // json://… as a word of its own, or as the value of name=json://…
    const jsonHere = !inWord || (word.endsWith("=") && !word.slice(0, -1).includes("="));
    if (jsonHere && line.startsWith(JSON_PREFIX, i) && i + JSON_PREFIX.length < line.length) {
      const end = endOfJsonValue(line, i + JSON_PREFIX.length);
      words.push(word + line.slice(i, end));
      word = "";
      inWord = false;
      i = end;
      continue;
    }
    if (isSpace(c)) {
      words.push(word);
      word = "";
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) throw new CtlSyntaxError("unterminated single quote");
      word += line.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) throw new CtlSyntaxError("unterminated double quote");
    } else if (c === "\\" && i + 1 < line.length && (/[\s'"\\]/.test(line[i + 1]!))) {
      word += line[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Decodes C-style escapes in a byte value given as text (\n \r \t \0 \\ \xHH); other
 * backslashes stay as they are. The result is the UTF-8 encoding of the rest.
 */
export function decodeEscapes(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  let plain = "";
  const flush = () => {
    if (plain) out.push(...enc.encode(plain));
    plain = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\" || i + 1 >= text.length) {
      plain += c;
      continue;
    }
    const n = text[i + 1]!;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, "0": 0, "\\": 92, e: 27 };
    if (n in simple) {
      flush();
      out.push(simple[n]!);
      i++;
    } else if (n === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      plain += c;
    }
  }
  flush();
  return Uint8Array.from(out);
}
