/**
 * Splits a byte stream into lines without readline: finds the newlines of each chunk,
 * decodes the chunk's complete lines in one `toString` and splits the string (about 2×
 * readline's speed). Bytes after the last newline wait for the next chunk, so multi-byte
 * UTF-8 characters split across chunks decode correctly; only that one line is copied (the
 * rest of a chunk is decoded where it lies). A final line without `\n` is yielded too; `\r\n`
 * is handled. Each batch carries the 1-based number of its first line.
 *
 * With `{ bytes: true }` each batch also carries every line's own UTF-8 bytes (without `\n`
 * and a final `\r`): views into the decompressed chunks, so a row that stays its input line
 * can be moved or written as those bytes without encoding its text again.
 */
export interface LineBatch {
  lines: string[];
  firstLine: number;
  /** With `{ bytes: true }`: line i's bytes, exactly as in the input. */
  bytes?: Uint8Array[];
}

export async function* readLines(chunks: AsyncIterable<Buffer>, o: { bytes?: boolean } = {}): AsyncGenerator<LineBatch> {
  const withBytes = o.bytes === true;
  // The start of a line not finished yet: the tail of one chunk, then whole chunks without a
  // newline, joined once its newline arrives (a very long line costs one copy, not one per chunk).
  let carry: Buffer[] = [];
  let nextLine = 1;
  for await (const chunk of chunks) {
    const first = chunk.indexOf(10);
    if (first < 0) {
      if (chunk.length > 0) carry.push(chunk);
      continue;
    }
    const last = chunk.lastIndexOf(10);
    let lines: string[];
    let bytes: Uint8Array[] | undefined;
    if (carry.length > 0) {
      // The line begun in earlier chunks ends at this chunk's first newline.
      const head = Buffer.concat([...carry, chunk.subarray(0, first)]);
      carry = [];
      lines = first === last ? [] : chunk.toString("utf8", first + 1, last).split("\n");
      lines.unshift(head.toString("utf8"));
      if (withBytes) {
        bytes = [head];
        if (first < last) lineViews(chunk, first + 1, last, bytes);
      }
    } else {
      lines = chunk.toString("utf8", 0, last).split("\n");
      if (withBytes) lineViews(chunk, 0, last, (bytes = []));
    }
    if (last + 1 < chunk.length) carry.push(chunk.subarray(last + 1));
    stripCR(lines, bytes);
    yield bytes ? { lines, firstLine: nextLine, bytes } : { lines, firstLine: nextLine };
    nextLine += lines.length;
  }
  if (carry.length > 0) {
    const tail = carry.length === 1 ? carry[0]! : Buffer.concat(carry);
    const lines = [tail.toString("utf8")];
    const bytes = withBytes ? [tail] : undefined;
    stripCR(lines, bytes);
    yield bytes ? { lines, firstLine: nextLine, bytes } : { lines, firstLine: nextLine };
  }
}

/** Appends views of the lines of `chunk[start, end)` (newline-separated; `end` is a newline or the end). */
function lineViews(chunk: Buffer, start: number, end: number, out: Uint8Array[]): void {
  let s = start;
  for (;;) {
    const nl = chunk.indexOf(10, s);
    if (nl < 0 || nl >= end) {
      out.push(chunk.subarray(s, end));
      return;
    }
    out.push(chunk.subarray(s, nl));
    s = nl + 1;
  }
}

function stripCR(lines: string[], bytes: Uint8Array[] | undefined): void {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) {
      lines[i] = l.slice(0, -1);
      if (bytes) bytes[i] = bytes[i]!.subarray(0, bytes[i]!.length - 1);
    }
  }
}
