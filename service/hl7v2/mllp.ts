/**
 * MLLP (Minimal Lower Layer Protocol, HL7 v2 implementation guide appendix C): each message travels as
 * <VT 0x0B> message <FS 0x1C><CR 0x0D>. The decoder splits a byte stream into messages, refuses one
 * longer than its limit, and ignores bytes between frames (a keep-alive newline, say).
 */
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** One message in its MLLP frame. */
export function frame(message: string): Buffer {
  return Buffer.concat([Buffer.from([START_BLOCK]), Buffer.from(message, "utf8"), Buffer.from([END_BLOCK, CARRIAGE_RETURN])]);
}

export class FrameTooLarge extends Error {}

/** Splits a stream into framed messages (as raw bytes); `push` returns the messages completed by the chunk. */
export class MllpDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  /** The previous chunk ended with FS: a CR starting the next one ends the frame. */
  private pendingEnd = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    const done: Buffer[] = [];
    let i = 0;
    if (this.pendingEnd) {
      this.pendingEnd = false;
      if (chunk[0] === CARRIAGE_RETURN) {
        done.push(this.finish());
        i = 1;
      } else {
        this.append(Buffer.from([END_BLOCK]));
      }
    }
    while (i < chunk.length) {
      if (!this.inFrame) {
        const start = chunk.indexOf(START_BLOCK, i);
        if (start === -1) break;
        this.inFrame = true;
        i = start + 1;
        continue;
      }
      const end = chunk.indexOf(END_BLOCK, i);
      if (end === -1) {
        this.append(chunk.subarray(i));
        break;
      }
      if (end === chunk.length - 1) {
        this.append(chunk.subarray(i, end));
        this.pendingEnd = true;
        break;
      }
      if (chunk[end + 1] === CARRIAGE_RETURN) {
        this.append(chunk.subarray(i, end));
        done.push(this.finish());
        i = end + 2;
      } else {
        // An FS inside a message that is not its end: keep it as data.
        this.append(chunk.subarray(i, end + 1));
        i = end + 1;
      }
    }
    return done;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.maxBytes) {
      this.parts = [];
      this.size = 0;
      this.inFrame = false;
      throw new FrameTooLarge(`An MLLP message may be at most ${this.maxBytes} bytes`);
    }
    this.parts.push(bytes);
  }

  private finish(): Buffer {
    const message = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.inFrame = false;
    return message;
  }
}
