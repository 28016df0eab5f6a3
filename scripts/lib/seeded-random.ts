/**
 * Deterministic randomness (mulberry32) for generated trails: the benchmark verifies the same trail every
 * run, and a failing test replays. Not for anything secret.
 */
export class SeededRandom {
  private state: number;
  private readonly bytes = Buffer.alloc(32);

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** 32 random bytes as 0x-hex. */
  hex32(): string {
    for (let i = 0; i < 32; i += 4) this.bytes.writeUInt32BE((this.next() * 4294967296) >>> 0, i);
    return "0x" + this.bytes.toString("hex");
  }

  /** A version-4 UUID. */
  uuid(): string {
    const h = this.hex32().slice(2, 34).split("");
    h[12] = "4";
    h[16] = "89ab"[parseInt(h[16], 16) & 3];
    const s = h.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}
