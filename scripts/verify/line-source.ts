import { isAscii } from "node:buffer";
import { open, type FileHandle } from "node:fs/promises";

const CHUNK = 1 << 20;
const LF = 10;
const CR = 13;

/**
 * The export's lines, pulled one at a time: the verifier's main loop and its failure diagnosis (which
 * reads ahead past the failing line) share one stream, so the file is never held or read twice.
 *
 * Lines end as node:readline ends them (LF, CRLF or a lone CR; a last line without one still counts) and
 * are decoded as UTF-8 whole, so a character is never split. Memory is a 1 MiB read-ahead chunk plus a
 * buffer that holds at least the longest line. `nextSync` hands out buffered lines without a promise
 * each; `fill` reads the next chunk, which was already requested while the last one was being used.
 */
export class LineSource {
  /** Lines handed out so far: the 1-based number of the last one. */
  line = 0;
  private handle: Promise<FileHandle> | null;
  private buffer = Buffer.allocUnsafe(2 * CHUNK);
  /** buffer[0, end) as a view, so searches stop at the data. */
  private data = this.buffer.subarray(0, 0);
  private start = 0;
  private eof = false;
  /** Where the next CR at or after `start` is, -1 when the buffered data has none (the usual case). */
  private cr = -1;
  /** Whether the buffered data is all ASCII (exports are): then latin1 decodes it as UTF-8 would, faster. */
  private encoding: "latin1" | "utf8" = "utf8";
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  private reading: Promise<number> | null = null;
  private closed = false;

  constructor(private readonly file: string) {
    this.handle = open(file, "r");
    // Surfaces at the first fill(); not an unhandled rejection meanwhile.
    this.handle.catch(() => undefined);
  }

  /** The next line, or null at the end of the file. */
  async next(): Promise<string | null> {
    for (;;) {
      const text = this.nextSync();
      if (text !== undefined) return text;
      await this.fill();
    }
  }

  /** The next line if it is buffered, null at the end of the file, undefined when `fill` must run first. */
  nextSync(): string | null | undefined {
    const data = this.data;
    const start = this.start;
    const lf = data.indexOf(LF, start);
    if (this.cr >= 0) {
      if (this.cr < start) this.cr = data.indexOf(CR, start);
      const cr = this.cr;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // CR LF is one line break, even across chunks; a lone CR is one too.
        if (cr + 1 === data.length && !this.eof) return undefined;
        this.start = data[cr + 1] === LF ? cr + 2 : cr + 1;
        this.line++;
        return data.toString(this.encoding, start, cr);
      }
    }
    if (lf >= 0) {
      this.start = lf + 1;
      this.line++;
      return data.toString(this.encoding, start, lf);
    }
    if (!this.eof) return undefined;
    if (start >= data.length) return null;
    this.start = data.length;
    this.line++;
    return data.toString(this.encoding, start);
  }

  /** Reads on: appends the next chunk (or notes the end of the file) and asks for the one after. */
  async fill(): Promise<void> {
    if (this.eof) return;
    const read = await (this.reading ?? this.read());
    this.reading = null;
    if (read === 0) {
      this.eof = true;
      return;
    }
    const kept = this.data.length - this.start;
    if (kept + read > this.buffer.length) {
      // A line longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, kept + read));
      this.buffer.copy(bigger, 0, this.start, this.data.length);
      this.buffer = bigger;
    } else if (kept > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.data.length);
    }
    this.chunk.copy(this.buffer, kept, 0, read);
    this.data = this.buffer.subarray(0, kept + read);
    this.start = 0;
    this.cr = this.data.indexOf(CR);
    this.encoding = isAscii(this.data) ? "latin1" : "utf8";
    // Read ahead while the caller works through this chunk.
    this.reading = this.read();
    this.reading.catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const handle = this.handle;
    const reading = this.reading;
    this.handle = null;
    void (async () => {
      await reading?.catch(() => undefined);
      await (await handle?.catch(() => null))?.close();
    })().catch(() => undefined);
  }

  private async read(): Promise<number> {
    const handle = await this.handle;
    if (!handle) return 0;
    const { bytesRead } = await handle.read(this.chunk, 0, CHUNK, null);
    return bytesRead;
  }
}
