import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { ChainReader, OnChainBatch } from "./chain-reader";
import { checkPermit } from "./consent-check";
import type { DeploymentInfo } from "./deployment-file";
import { fail, VerificationFailure, type Failure, type FirstFailure, type Location } from "./failures";
import { Keccak } from "./keccak";
import { LeafEncoder, leafHash } from "./leaf";
import { bytesHex, hexBytes, processProof } from "./merkle";
import {
  Decision,
  EXPORT_VERSION,
  FormatError,
  LEAF_TYPES,
  parseLine,
  PURPOSE_ETREAT,
  ZERO_HASH,
  type BatchLine,
  type EndLine,
  type EventLine,
  type HeaderLine,
} from "./trail-format";

export interface BreakGlassEntry {
  seq: number;
  id: string;
  time: number;
  actor: string;
  patient: string;
  batchId: number;
}

/** Receives break-glass accesses as they are verified, so the verifier itself keeps none. */
export interface BreakGlassSink {
  add(entry: BreakGlassEntry): void;
}

/** Batches whose events were pruned by retention, merged into runs of consecutive batch ids. */
export interface PrunedRange {
  fromBatch: number;
  toBatch: number;
  firstSeq: number;
  lastSeq: number;
}

export interface Checked {
  lines: number;
  batches: number;
  prunedBatches: number;
  events: number;
  leaves: number;
  proofs: number;
  hashLinks: number;
  permits: number;
  breakGlass: number;
  chainCalls: number;
}

export interface VerifyResult {
  ok: boolean;
  checked: Checked;
  firstFailure: FirstFailure | null;
  pruned: PrunedRange[];
  export: { from: unknown; to: unknown; firstBatch: number | null; lastBatch: number | null; firstSeq: number | null; lastSeq: number | null };
  chain: { chainId: number; accessLedger: string; consentRegistry: string; batchCount: number | null };
}

export interface VerifyOptions {
  exportFile: string;
  chain: ChainReader;
  deployment: DeploymentInfo;
  breakGlass: BreakGlassSink;
  /** Permit checks in flight at once. They wait on the chain; batching them over HTTP is what makes it fast. */
  window?: number;
}

/** Verifies an export against the chain; never throws for a bad trail, only for I/O or RPC failures. */
export async function verifyTrail(options: VerifyOptions): Promise<VerifyResult> {
  const verifier = new TrailVerifier(options, await Keccak.create());
  return verifier.run();
}

interface OpenBatch {
  line: BatchLine;
  onChain: OnChainBatch;
  root: Uint8Array;
  /** The next seq this batch must deliver; past lastSeq once complete. */
  nextSeq: number;
}

interface PendingCheck {
  where: Location;
  outcome: Promise<{ failure: Failure | null } | { error: unknown }>;
}

class TrailVerifier {
  private readonly encoder = new LeafEncoder();
  private readonly window: number;
  private readonly checked: Checked = {
    lines: 0,
    batches: 0,
    prunedBatches: 0,
    events: 0,
    leaves: 0,
    proofs: 0,
    hashLinks: 0,
    permits: 0,
    breakGlass: 0,
    chainCalls: 0,
  };
  private readonly pruned: PrunedRange[] = [];
  private readonly pending: PendingCheck[] = [];
  private header: HeaderLine | null = null;
  private batch: OpenBatch | null = null;
  /** The last batch seen (pruned or not), for contiguity. */
  private previousBatch: { batchId: number; lastSeq: number; pruned: boolean } | null = null;
  /** The leaf of the event before the next one, or null when it is not in the export (mid-history, pruned). */
  private previousLeaf: string | null = null;
  private ended = false;
  private line = 0;
  /** A line that did not parse: malformed if another line follows, a cut-off export if it was the last. */
  private unparsed: { line: number; message: string } | null = null;
  private firstBatch: number | null = null;
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;
  private batchCount: number | null = null;
  /** The next batch, requested while this one's events are checked: batch lines then rarely wait on the chain. */
  private prefetched: { batchId: number; batch: Promise<OnChainBatch | null> } | null = null;

  constructor(
    private readonly options: VerifyOptions,
    private readonly keccak: Keccak,
  ) {
    this.window = options.window ?? 512;
  }

  async run(): Promise<VerifyResult> {
    let firstFailure: FirstFailure | null = null;
    try {
      await this.checkChain();
      await this.readExport();
      await this.settle(0);
    } catch (error) {
      if (!(error instanceof VerificationFailure)) throw error;
      firstFailure = await this.earliest(error.failure);
    }
    this.checked.chainCalls = this.options.chain.calls;
    const d = this.options.deployment;
    return {
      ok: firstFailure === null,
      checked: this.checked,
      firstFailure,
      pruned: this.pruned,
      export: {
        from: this.header?.from ?? null,
        to: this.header?.to ?? null,
        firstBatch: this.firstBatch,
        lastBatch: this.previousBatch?.batchId ?? null,
        firstSeq: this.firstSeq,
        lastSeq: this.lastSeq,
      },
      chain: { chainId: d.chainId, accessLedger: d.accessLedger, consentRegistry: d.consentRegistry, batchCount: this.batchCount },
    };
  }

  /** Permit checks still in flight concern earlier events, so any failure among them comes first. */
  private async earliest(failure: FirstFailure): Promise<FirstFailure> {
    try {
      await this.settle(0);
    } catch (error) {
      if (error instanceof VerificationFailure) return error.failure;
      throw error;
    }
    return failure;
  }

  private async checkChain(): Promise<void> {
    const { chain, deployment } = this.options;
    const nowhere: Location = { seq: null, id: null, batchId: null, line: null };
    const chainId = await chain.chainId();
    if (chainId !== deployment.chainId) throw fail(nowhere, "chain-mismatch", `the RPC serves chain ${chainId}, the deployment is on ${deployment.chainId}`);
    for (const [name, address] of [["AccessLedger", deployment.accessLedger], ["ConsentRegistry", deployment.consentRegistry]]) {
      if (!(await chain.hasCode(address))) throw fail(nowhere, "chain-mismatch", `no contract at the deployment's ${name} address ${address}`);
    }
    this.batchCount = await chain.batchCount();
  }

  private async readExport(): Promise<void> {
    const input = createReadStream(this.options.exportFile, { highWaterMark: 1 << 20 });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const text of lines) {
        this.line++;
        const work = this.onLine(text);
        if (work) await work;
        if (this.pending.length >= this.window) await this.settle(this.window >> 1);
      }
    } finally {
      lines.close();
      input.destroy();
    }
    this.onEndOfFile();
  }

  private onLine(text: string): Promise<void> | void {
    if (text.trim() === "") return;
    if (this.unparsed) throw fail(this.here(), "malformed-line", `line ${this.unparsed.line}: ${this.unparsed.message}`);
    this.checked.lines++;
    let parsed;
    try {
      parsed = parseLine(text);
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      this.unparsed = { line: this.line, message: error.message };
      return;
    }
    if (this.ended) throw fail(this.here(), "malformed-line", `line ${this.line} follows the end line`);
    if (!this.header && parsed.kind !== "header") throw fail(this.here(), "header-mismatch", "the export does not start with a header line");
    switch (parsed.kind) {
      case "header":
        return this.onHeader(parsed);
      case "batch":
        return this.onBatch(parsed);
      case "event":
        return this.onEvent(parsed);
      case "end":
        return this.onEnd(parsed);
    }
  }

  private onHeader(h: HeaderLine): void {
    const where = this.here();
    if (this.header) throw fail(where, "malformed-line", `a second header on line ${this.line}`);
    const d = this.options.deployment;
    if (h.version !== EXPORT_VERSION) throw fail(where, "header-mismatch", `export version ${h.version}, this verifier reads ${EXPORT_VERSION}`);
    if (h.chainId !== d.chainId) throw fail(where, "header-mismatch", `export is for chain ${h.chainId}, the deployment is on ${d.chainId}`);
    if (h.accessLedger !== d.accessLedger) throw fail(where, "header-mismatch", `export's AccessLedger ${h.accessLedger} is not the deployment's ${d.accessLedger}`);
    if (h.consentRegistry !== d.consentRegistry) {
      throw fail(where, "header-mismatch", `export's ConsentRegistry ${h.consentRegistry} is not the deployment's ${d.consentRegistry}`);
    }
    if (h.leafTypes.length !== LEAF_TYPES.length || h.leafTypes.some((t, i) => t !== LEAF_TYPES[i])) {
      throw fail(where, "header-mismatch", `leafTypes ${JSON.stringify(h.leafTypes)} differ from the spec's`);
    }
    this.header = h;
  }

  private async onBatch(b: BatchLine): Promise<void> {
    const where: Location = { seq: b.firstSeq, id: null, batchId: b.batchId, line: this.line };
    this.requireBatchComplete("sequence-gap");
    const prev = this.previousBatch;
    // The first batch may start anywhere (an export of a time range); after it, no batch may be skipped.
    if (prev && b.batchId !== prev.batchId + 1) {
      throw fail(where, b.batchId > prev.batchId ? "sequence-gap" : "sequence-order", `batch ${b.batchId} follows batch ${prev.batchId}`);
    }
    const onChain = await this.onChainBatch(b.batchId);
    if (!onChain) throw fail(where, "batch-not-on-chain", `batch ${b.batchId} is not anchored on chain`);
    if (onChain.firstSeq !== b.firstSeq || onChain.lastSeq !== b.lastSeq) {
      throw fail(where, "range-mismatch", `batch ${b.batchId} covers ${b.firstSeq}..${b.lastSeq} in the export, ${onChain.firstSeq}..${onChain.lastSeq} on chain`);
    }
    if (onChain.root !== b.root) throw fail(where, "root-mismatch", `batch ${b.batchId} root ${b.root} in the export, ${onChain.root} on chain`);
    if (b.blockNumber !== null && b.blockNumber !== onChain.blockNumber) {
      throw fail(where, "anchor-mismatch", `batch ${b.batchId} anchored in block ${onChain.blockNumber}, export says ${b.blockNumber}`);
    }
    // The chain itself refuses non-contiguous ranges; this guards against a chain that is not the AccessLedger we expect.
    if (prev && b.firstSeq !== prev.lastSeq + 1) throw fail(where, "sequence-gap", `batch ${b.batchId} starts at ${b.firstSeq}, after ${prev.lastSeq}`);

    this.checked.batches++;
    if (this.firstBatch === null) {
      this.firstBatch = b.batchId;
      this.firstSeq = b.firstSeq;
      // Mid-history exports cannot check their first link; a trail from the start must begin at zero.
      this.previousLeaf = b.firstSeq === 1 ? ZERO_HASH : null;
    }
    this.lastSeq = b.lastSeq;
    this.previousBatch = { batchId: b.batchId, lastSeq: b.lastSeq, pruned: b.pruned };
    if (b.pruned) {
      this.checked.prunedBatches++;
      this.notePruned(b);
      this.batch = null;
      this.previousLeaf = null; // the events that would carry the link are gone
      return;
    }
    this.batch = { line: b, onChain, root: hexBytes(onChain.root), nextSeq: b.firstSeq };
  }

  private onChainBatch(batchId: number): Promise<OnChainBatch | null> {
    const chain = this.options.chain;
    const current = this.prefetched?.batchId === batchId ? this.prefetched.batch : chain.getBatch(batchId);
    const next = chain.getBatch(batchId + 1);
    next.catch(() => undefined); // only awaited if that batch is exported; an error then surfaces there
    this.prefetched = { batchId: batchId + 1, batch: next };
    return current;
  }

  private onEvent(e: EventLine): void {
    const where: Location = { seq: e.seq, id: e.id, batchId: e.batchId, line: this.line };
    const batch = this.batch;
    if (!batch) {
      if (this.previousBatch?.pruned) throw fail(where, "range-mismatch", `event after batch ${this.previousBatch.batchId}, which is marked pruned`);
      throw fail(where, "malformed-line", "event before any batch line");
    }
    if (e.batchId !== batch.line.batchId) throw fail(where, "range-mismatch", `event says batch ${e.batchId} inside batch ${batch.line.batchId}`);
    if (batch.nextSeq > batch.line.lastSeq) {
      throw fail(where, "range-mismatch", `event seq ${e.seq} beyond batch ${batch.line.batchId}'s last seq ${batch.line.lastSeq}`);
    }

    const leaf = leafHash(this.keccak, this.encoder, e);
    this.checked.leaves++;
    const leafHex = bytesHex(leaf);
    if (leafHex !== e.leaf) throw fail(where, "leaf-mismatch", `fields hash to ${leafHex}, export says ${e.leaf}`);

    if (e.seq !== batch.nextSeq) {
      if (e.seq > batch.nextSeq) throw fail(where, "sequence-gap", `expected seq ${batch.nextSeq}, found ${e.seq}`);
      throw fail(where, "sequence-order", `expected seq ${batch.nextSeq}, found ${e.seq} again or out of order`);
    }
    if (this.previousLeaf !== null) {
      if (e.prevHash !== this.previousLeaf) throw fail(where, "hash-link-broken", `prevHash ${e.prevHash} is not the previous leaf ${this.previousLeaf}`);
      this.checked.hashLinks++;
    }
    const root = processProof(this.keccak, leaf, e.proof);
    if (Buffer.compare(root, batch.root) !== 0) {
      throw fail(where, "proof-invalid", `proof leads to ${bytesHex(root)}, batch ${batch.line.batchId}'s on-chain root is ${batch.onChain.root}`);
    }
    this.checked.proofs++;
    this.checked.events++;
    batch.nextSeq++;
    this.previousLeaf = e.leaf;

    if (e.decision === Decision.Permit) {
      this.checked.permits++;
      this.schedule(where, checkPermit(this.options.chain, e));
    } else if (e.decision === Decision.BreakGlass) {
      if ((e.purposes & PURPOSE_ETREAT) === 0n) throw fail(where, "break-glass-without-etreat", `break-glass with purposes ${e.purposes}`);
      this.checked.breakGlass++;
      this.options.breakGlass.add({ seq: e.seq, id: e.id, time: e.time, actor: e.actor, patient: e.patient, batchId: e.batchId });
    }
  }

  private onEnd(end: EndLine): void {
    this.requireBatchComplete("truncated");
    const where = this.here();
    if (end.batches !== this.checked.batches || end.events !== this.checked.events) {
      throw fail(where, "count-mismatch", `end line counts ${end.batches} batches and ${end.events} events, the export has ${this.checked.batches} and ${this.checked.events}`);
    }
    this.ended = true;
  }

  private onEndOfFile(): void {
    if (this.unparsed) throw fail(this.here(), "truncated", `the last line (${this.unparsed.line}) is incomplete: ${this.unparsed.message}`);
    if (!this.header) throw fail(this.here(), "truncated", "the export is empty");
    this.requireBatchComplete("truncated");
    if (!this.ended) throw fail(this.here(), "truncated", "the export has no end line");
  }

  /** The open batch must have delivered every event of its range before anything else begins. */
  private requireBatchComplete(reason: "sequence-gap" | "truncated"): void {
    const batch = this.batch;
    if (!batch || batch.nextSeq > batch.line.lastSeq) return;
    const where: Location = { seq: batch.nextSeq, id: null, batchId: batch.line.batchId, line: this.line };
    throw fail(where, reason, `batch ${batch.line.batchId} stops before seq ${batch.nextSeq} of ${batch.line.firstSeq}..${batch.line.lastSeq}`);
  }

  private notePruned(b: BatchLine): void {
    const last = this.pruned[this.pruned.length - 1];
    if (last && last.toBatch + 1 === b.batchId) {
      last.toBatch = b.batchId;
      last.lastSeq = b.lastSeq;
    } else {
      this.pruned.push({ fromBatch: b.batchId, toBatch: b.batchId, firstSeq: b.firstSeq, lastSeq: b.lastSeq });
    }
  }

  /** The place to blame when no event is at fault: the next expected event of the open batch, if any. */
  private here(): Location {
    const batch = this.batch;
    if (batch && batch.nextSeq <= batch.line.lastSeq) return { seq: batch.nextSeq, id: null, batchId: batch.line.batchId, line: this.line };
    return { seq: null, id: null, batchId: this.previousBatch?.batchId ?? null, line: this.line };
  }

  private schedule(where: Location, check: Promise<Failure | null>): void {
    // Settle into a value at once so a rejection is never "unhandled" while it waits its turn.
    this.pending.push({ where, outcome: check.then((failure) => ({ failure }), (error: unknown) => ({ error })) });
  }

  /** Waits for checks in order until at most `keep` are in flight; the first failure in trail order wins. */
  private async settle(keep: number): Promise<void> {
    while (this.pending.length > keep) {
      const { where, outcome } = this.pending.shift()!;
      const result = await outcome;
      if ("error" in result) throw result.error;
      if (result.failure) throw new VerificationFailure({ ...where, ...result.failure });
    }
  }
}
