import { createKeccak, type IHasher } from "hash-wasm";

/** The parts of the WebAssembly global used here (the project's lib settings do not declare it). */
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface WasmMemory {
  buffer: ArrayBuffer;
}
const Wasm = (globalThis as unknown as { WebAssembly: { instantiate: (...args: unknown[]) => Promise<unknown>; Instance: abstract new (...args: never[]) => WasmInstance; Memory: abstract new (...args: never[]) => WasmMemory } }).WebAssembly;

/** The exports of hash-wasm's keccak module (its src/sha3.c): input at the I/O buffer's start, digest written there. */
interface KeccakExports {
  memory: WasmMemory;
  Hash_GetBuffer(): number;
  /** Hash_Init(bits) + Hash_Update(length) + Hash_Final(padding) in one call; 0x01 is keccak's padding. */
  Hash_Calculate(length: number, bits: number, padding: number): void;
}

/** hash-wasm's I/O buffer (MAIN_BUFFER_SIZE): the most one direct call may hash. */
const IO_SIZE = 16 * 1024;
const KECCAK_PADDING = 0x01;

/**
 * Synchronous keccak256 over hash-wasm, created once. hash-wasm is about 20× faster than ethers'
 * keccak256 (docs/architecture.md §11) and hashing dominates the verifier: two hashes per leaf plus the
 * proofs' nodes.
 *
 * The hot paths skip hash-wasm's JavaScript wrapper (a view and a copy per update, a copy per digest):
 * they write their input into the module's own I/O buffer (`io`) and make one WebAssembly call, whose
 * digest lands at the buffer's start. hash-wasm does not export its instance, so `create` notes the ones
 * WebAssembly.instantiate hands back while createKeccak runs, and uses one only if it is the new hasher's
 * own (its input lands in that instance's buffer) and computes exactly what the library's public hasher
 * computes on a set of inputs (block boundaries included). Otherwise `io` is an ordinary buffer hashed
 * through the public API: slower, same results.
 */
export class Keccak {
  private io_: Buffer;

  private constructor(
    private readonly hasher: IHasher,
    private readonly direct: KeccakExports | null,
  ) {
    this.io_ = direct ? ioView(direct) : Buffer.alloc(IO_SIZE);
  }

  static create(): Promise<Keccak> {
    // One at a time, so that one creation's note-taking never wraps another's.
    const created = creating.then(async () => {
      const { hasher, instances } = await createNotingInstances();
      const direct = instances.map((i) => i.exports as unknown as KeccakExports).find((e) => isHashersOwn(e, hasher) && agreesWith(e, hasher)) ?? null;
      return new Keccak(hasher, direct);
    });
    creating = created.catch(() => undefined);
    return created;
  }

  /** Whether hashing skips hash-wasm's wrapper (the tests check it does; the results are the same either way). */
  get isDirect(): boolean {
    return this.direct !== null;
  }

  /** The buffer `digestIo` hashes from and writes to. Valid until the next call on this Keccak. */
  get io(): Buffer {
    // A WebAssembly memory that grew detaches its old views (keccak never grows it; this is cheap insurance).
    if (this.io_.byteLength === 0 && this.direct) this.io_ = ioView(this.direct);
    return this.io_;
  }

  /** keccak256 of io[0, length), written to io[0, 32). */
  digestIo(length: number): void {
    if (length > IO_SIZE) throw new RangeError(`at most ${IO_SIZE} bytes per direct hash`);
    if (this.direct) {
      this.direct.Hash_Calculate(length, 256, KECCAK_PADDING);
      return;
    }
    const io = this.io_;
    io.set(this.hasher.init().update(io.subarray(0, length)).digest("binary"), 0);
  }

  /** keccak256 of the concatenation of `parts`, as a new array. */
  hash(...parts: Uint8Array[]): Uint8Array {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    if (length > IO_SIZE) {
      const h = this.hasher.init();
      for (const part of parts) h.update(part);
      return h.digest("binary");
    }
    const io = this.io;
    let at = 0;
    for (const part of parts) {
      io.set(part, at);
      at += part.byteLength;
    }
    this.digestIo(length);
    return Uint8Array.prototype.slice.call(io, 0, 32);
  }
}

let creating: Promise<unknown> = Promise.resolve();

function ioView(e: KeccakExports): Buffer {
  return Buffer.from(e.memory.buffer, e.Hash_GetBuffer(), IO_SIZE);
}

/** createKeccak(256), noting every instance WebAssembly.instantiate returns meanwhile. */
async function createNotingInstances(): Promise<{ hasher: IHasher; instances: WasmInstance[] }> {
  const instances: WasmInstance[] = [];
  const original = Wasm.instantiate;
  Wasm.instantiate = function (...args: unknown[]) {
    return original.apply(Wasm, args).then((result) => {
      const instance = result instanceof Wasm.Instance ? result : (result as { instance?: unknown })?.instance;
      if (instance instanceof Wasm.Instance) instances.push(instance);
      return result;
    });
  };
  try {
    return { hasher: await createKeccak(256), instances };
  } finally {
    Wasm.instantiate = original;
  }
}

/** Is this the instance `hasher` works in (and no other library's)? Its input lands in the instance's buffer. */
function isHashersOwn(e: KeccakExports, hasher: IHasher): boolean {
  try {
    if (!(e.memory instanceof Wasm.Memory) || typeof e.Hash_GetBuffer !== "function") return false;
    const marker = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 0xff));
    hasher.init().update(marker);
    const owned = ioView(e).subarray(0, marker.length).equals(marker);
    hasher.init();
    return owned;
  } catch {
    return false;
  }
}

/** Does this instance, called directly, compute keccak256 exactly as the public hasher does? */
function agreesWith(e: KeccakExports, hasher: IHasher): boolean {
  try {
    if (!(e.memory instanceof Wasm.Memory) || typeof e.Hash_GetBuffer !== "function" || typeof e.Hash_Calculate !== "function") return false;
    const io = ioView(e);
    let seed = 0x9e3779b9;
    for (const length of [0, 1, 31, 32, 33, 64, 135, 136, 137, 272, 384, 416, 1000, 4096]) {
      const input = Buffer.alloc(length);
      for (let i = 0; i < length; i++) input[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      const expected = Buffer.from(hasher.init().update(input).digest("binary"));
      io.set(input, 0);
      e.Hash_Calculate(length, 256, KECCAK_PADDING);
      if (!io.subarray(0, 32).equals(expected)) return false;
    }
    // keccak256("") is well known: this is keccak (0x01 padding), not SHA3-256 (0x06).
    e.Hash_Calculate(0, 256, KECCAK_PADDING);
    return io.toString("hex", 0, 32) === "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
  } catch {
    return false;
  }
}
