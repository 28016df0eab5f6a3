import { createReadStream, type ReadStream } from "node:fs";
import { createInterface, type Interface } from "node:readline";

/**
 * The export's lines, pulled one at a time: the verifier's main loop and its failure diagnosis (which
 * reads ahead past the failing line) share one stream, so the file is never held or read twice.
 */
export class LineSource {
  /** Lines handed out so far: the 1-based number of the last one. */
  line = 0;
  private readonly input: ReadStream;
  private readonly lines: Interface;
  private readonly iterator: AsyncIterator<string>;

  constructor(file: string) {
    this.input = createReadStream(file, { highWaterMark: 1 << 20 });
    this.lines = createInterface({ input: this.input, crlfDelay: Infinity });
    this.iterator = this.lines[Symbol.asyncIterator]();
  }

  /** The next line, or null at the end of the file. */
  async next(): Promise<string | null> {
    const { value, done } = await this.iterator.next();
    if (done) return null;
    this.line++;
    return value;
  }

  close(): void {
    this.lines.close();
    this.input.destroy();
  }
}
