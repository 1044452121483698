import { InternalError } from "../../core/errors.js";
import { StepFailure, type Chunk } from "../operators/chunk.js";
import { writeCommitted } from "./write-committed.js";


/**
 * Writes a shard as JSON Lines through the store's atomic streaming write (a temporary file
 * renamed into place locally, an upload straight to the final name with a generation
 * precondition on `gs://`), so the final path holds a whole file or nothing. `ifGeneration`
 * is the output's generation when the driver planned the task ("0" = absent): a duplicate
 * attempt cannot replace a committed output with other bytes. Returns the bytes of the file
 * (after compression). A row that still has its input JSON text (`Chunk.texts`: rows that
 * only went through filter, take, dedupe or reshard after `loadJsonl`) is written as that
 * text, byte for byte; other rows as `JSON.stringify(row)`.
 */
export async function writeJsonlSink(chunks: AsyncIterable<Chunk>, outputPath: string | undefined, tempTag: string, ifGeneration?: string): Promise<number> {
  if (!outputPath) throw new InternalError("writeJsonl task has no output path");
  return writeCommitted(outputPath, tempTag, ifGeneration, async (writer) => {
    const out = new OutputBuffers((p) => writer.unlessFailed(p));
    for await (const c of chunks) {
      const texts = c.texts;
      // Lines are gathered as one string; rows whose JSON text is UTF-8 bytes (from the
      // shuffle) are gathered as bytes and copied once into one buffer, never decoded.
      let text = "";
      let bytes: Array<Uint8Array | string> | undefined;
      let byteLength = 0;
      for (let i = 0; i < c.rows.length; i++) {
        const t = texts?.[i];
        if (t !== undefined && typeof t !== "string") {
          if (text.length > 0) {
            (bytes ??= []).push(text);
            byteLength += Buffer.byteLength(text);
            text = "";
          }
          (bytes ??= []).push(t);
          byteLength += t.length + 1;
          continue;
        }
        const json = t ?? JSON.stringify(c.rows[i]);
        if (typeof json !== "string") {
          throw new StepFailure(
            new TypeError(`writeJsonl cannot write ${String(c.rows[i])} as a JSON line (did a map step return nothing?)`),
            "writeJsonl",
            c.file,
            c.lines?.[i],
          );
        }
        text += json;
        text += "\n";
      }
      if (bytes) {
        if (text.length > 0) {
          bytes.push(text);
          byteLength += Buffer.byteLength(text);
        }
        const slot = await out.take(byteLength);
        joinLines(bytes, slot.buffer);
        await writer.write(slot.buffer.subarray(0, byteLength), slot.release);
      } else if (text.length > 0) await writer.write(text);
    }
  });
}

/**
 * Two output buffers used in turn: one is filled while the other is still being written (or
 * compressed), so a shard's lines are copied into memory that is already mapped rather than
 * into a fresh buffer per chunk (about half the cost of the copy on this kind of machine).
 */
class OutputBuffers {
  private readonly slots: Array<{ buffer: Buffer; free: Promise<void> }> = [
    { buffer: Buffer.alloc(0), free: Promise.resolve() },
    { buffer: Buffer.alloc(0), free: Promise.resolve() },
  ];
  private turn = 0;

  /** `wait` waits for a buffer to be free, failing if the writer fails. */
  constructor(private readonly wait: (free: Promise<void>) => Promise<void>) {}

  /** A buffer of at least `bytes` bytes, and the callback that frees it once written. */
  async take(bytes: number): Promise<{ buffer: Buffer; release: () => void }> {
    const slot = this.slots[this.turn]!;
    this.turn ^= 1;
    await this.wait(slot.free);
    if (slot.buffer.length < bytes) slot.buffer = Buffer.allocUnsafeSlow(Math.max(bytes, slot.buffer.length * 2));
    let release!: () => void;
    slot.free = new Promise<void>((r) => (release = r));
    return { buffer: slot.buffer, release };
  }
}

/** Fills `out` with the parts: a byte part is one JSON text (a newline is added), a string part is lines that already end in one. */
function joinLines(parts: ReadonlyArray<Uint8Array | string>, out: Buffer): void {
  let o = 0;
  for (const p of parts) {
    if (typeof p === "string") o += out.write(p, o, "utf8");
    else {
      out.set(p, o);
      o += p.length;
      out[o++] = 10;
    }
  }
}
