import { BatchStatus, type ChainReader } from "./chain-reader";
import { CheckQueue } from "./check-queue";
import { checkDecision, isCheckedOnChain } from "./consent-check";
import type { DeploymentInfo } from "./deployment-file";
import { fail, VerificationFailure, type Failure, type FirstFailure, type Location, type Neighbour } from "./failures";
import { checkHeader } from "./header-check";
import { Keccak } from "./keccak";
import { digestLeaf, LeafEncoder } from "./leaf";
import { peekLine, type PeekedLine } from "./line-peek";
import { LineSource } from "./line-source";
import { ProofWalker } from "./merkle";
import { describeMissing, lookAhead, type BatchSoFar } from "./missing-events";
import { TimeRangeCheck } from "./time-range";
import { Decision, FormatError, PROOF_NODE_ERROR, PURPOSE_ETREAT, readLine, ZERO_HASH, type BatchLine, type EndLine, type EventRecord, type HeaderLine } from "./trail-format";

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
  /**
   * Drops the entries from `seq` on: when the first failure turns out to lie before them (an answer from
   * the chain about an earlier batch or consent arrives after they were read), they were never verified.
   */
  discardFrom?(seq: number): void;
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
  /** Permits and denies checked against the chain (those naming a patient). */
  permits: number;
  denies: number;
  breakGlass: number;
  chainCalls: number;
}

export interface VerifyResult {
  ok: boolean;
  checked: Checked;
  firstFailure: FirstFailure | null;
  pruned: PrunedRange[];
  /** `from` and `to` as ISO 8601 instants. */
  export: { from: string | null; to: string | null; firstBatch: number | null; lastBatch: number | null; firstSeq: number | null; lastSeq: number | null };
  chain: { chainId: number; accessLedger: string; consentRegistry: string; batchCount: number | null };
}

export interface VerifyOptions {
  exportFile: string;
  chain: ChainReader;
  deployment: DeploymentInfo;
  breakGlass: BreakGlassSink;
  /**
   * Checks waiting on the chain at once (default 4,096). They are what keeps the chain busy while the
   * export is read, so a wide window hides the node's answering time; each holds only its question.
   */
  window?: number;
}

/** Verifies an export against the chain; never throws for a bad trail, only for I/O or RPC failures. */
export async function verifyTrail(options: VerifyOptions): Promise<VerifyResult> {
  const verifier = new TrailVerifier(options, await Keccak.create());
  return verifier.run();
}


interface OpenBatch {
  line: BatchLine;
  /**
   * The root its events' proofs must reach: the export's, which the batch's own check (in flight while
   * they are read) compares with the chain's; a mismatch there is reported ahead of any of its events.
   */
  root: string;
  /** The next seq this batch must deliver; past lastSeq once complete. */
  nextSeq: number;
}

/** Failures that a deleted event causes in its batch: reported as the deletion instead (see diagnose). */
const CONSEQUENCES_OF_A_GAP = new Set(["sequence-gap", "proof-invalid", "hash-link-broken"]);

class TrailVerifier {
  private readonly encoder = new LeafEncoder();
  private readonly proofs: ProofWalker;
  private readonly window: number;
  private readonly checks = new CheckQueue();
  private readonly checked: Checked = {
    lines: 0,
    batches: 0,
    prunedBatches: 0,
    events: 0,
    leaves: 0,
    proofs: 0,
    hashLinks: 0,
    permits: 0,
    denies: 0,
    breakGlass: 0,
    chainCalls: 0,
  };
  private readonly pruned: PrunedRange[] = [];
  private header: HeaderLine | null = null;
  private timeRange: TimeRangeCheck | null = null;
  private batch: OpenBatch | null = null;
  /** The last batch seen (pruned or not), for contiguity. */
  private previousBatch: { batchId: number; lastSeq: number; pruned: boolean } | null = null;
  /** The leaf of the event before the next one, or null when it is not in the export (mid-history, pruned). */
  private previousLeaf: string | null = null;
  /** The last event verified, when the next seq follows it (seq -1: none): a missing event's neighbour. */
  private lastEventSeq = -1;
  private lastEventId: string | null = null;
  private ended = false;
  private line = 0;
  /** A line that did not parse: malformed if another line follows, a cut-off export if it was the last. */
  private unparsed: { line: number; message: string; peek: PeekedLine } | null = null;
  /** Set when a batch closed short of its range: the deletion's diagnosis reads on to the next event. */
  private closedShort: BatchSoFar | null = null;
  private firstBatch: number | null = null;
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;
  private batchCount: number | null = null;

  constructor(
    private readonly options: VerifyOptions,
    private readonly keccak: Keccak,
  ) {
    this.window = options.window ?? 4096;
    this.proofs = new ProofWalker(keccak);
  }

  async run(): Promise<VerifyResult> {
    let firstFailure: FirstFailure | null = null;
    try {
      await this.checkChain();
      await this.readExport();
      await this.checks.settle(0);
    } catch (error) {
      if (!(error instanceof VerificationFailure)) throw error;
      firstFailure = await this.checks.earliest(error.failure);
      if (firstFailure.seq !== null) this.options.breakGlass.discardFrom?.(firstFailure.seq);
    }
    this.checked.chainCalls = this.options.chain.calls;
    const d = this.options.deployment;
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      ok: firstFailure === null,
      checked: this.checked,
      firstFailure,
      pruned: this.pruned,
      export: {
        from: iso(this.header?.from),
        to: iso(this.header?.to),
        firstBatch: this.firstBatch,
        lastBatch: this.previousBatch?.batchId ?? null,
        firstSeq: this.firstSeq,
        lastSeq: this.lastSeq,
      },
      chain: { chainId: d.chainId, accessLedger: d.accessLedger, consentRegistry: d.consentRegistry, batchCount: this.batchCount },
    };
  }

  private async checkChain(): Promise<void> {
    const { chain, deployment } = this.options;
    const nowhere: Location = { seq: null, id: null, batchId: null, line: null };
    // Asked together (one round trip), judged in order: the chain first, then its contracts, then the ledger's count.
    const [chainId, ledgerCode, registryCode, batchCount] = await Promise.allSettled([
      chain.chainId(),
      chain.hasCode(deployment.accessLedger),
      chain.hasCode(deployment.consentRegistry),
      chain.batchCount(),
    ]);
    const value = <T>(answer: PromiseSettledResult<T>): T => {
      if (answer.status === "rejected") throw answer.reason;
      return answer.value;
    };
    if (value(chainId) !== deployment.chainId) throw fail(nowhere, "chain-mismatch", `the RPC serves chain ${value(chainId)}, the deployment is on ${deployment.chainId}`);
    for (const [name, address, hasCode] of [["AccessLedger", deployment.accessLedger, ledgerCode], ["ConsentRegistry", deployment.consentRegistry, registryCode]] as const) {
      if (!value(hasCode)) throw fail(nowhere, "chain-mismatch", `no contract at the deployment's ${name} address ${address}`);
    }
    this.batchCount = value(batchCount);
  }

  private async readExport(): Promise<void> {
    const source = new LineSource(this.options.exportFile);
    try {
      for (;;) {
        // Lines come without a promise each; a read of the next chunk (requested ahead) is where the
        // chain's answers are taken in.
        const text = source.nextSync();
        if (text === undefined) {
          await source.fill();
          continue;
        }
        if (text === null) break;
        this.line = source.line;
        try {
          this.onLine(text);
          // Answered checks leave at once (memory holds only those in flight); a full window waits.
          this.checks.drain();
          if (this.checks.size >= this.window) await this.checks.settle(this.window >> 1);
        } catch (error) {
          if (!(error instanceof VerificationFailure)) throw error;
          if (error.final) throw error;
          throw new VerificationFailure(await this.diagnose(error.failure, source));
        }
      }
      this.onEndOfFile();
    } finally {
      source.close();
    }
  }

  private onLine(text: string): void {
    if (text.trim() === "") return;
    if (this.unparsed) throw fail(this.unparsedAt(), "malformed-line", `line ${this.unparsed.line}: ${this.unparsed.message}`);
    this.checked.lines++;
    let parsed;
    let leaf = "";
    let root = "";
    try {
      parsed = readLine(text, this.header?.version, true);
      if (parsed.kind === "event") {
        // Computed first, since the proof's digits are checked on the way (see ProofWalker): a line with a
        // node that is not hex is malformed, whatever else is wrong with it. Judged in onEvent.
        digestLeaf(this.keccak, this.encoder, parsed);
        leaf = "0x" + this.keccak.io.toString("hex", 0, 32);
        const reached = this.proofs.rootOf(leaf, parsed.proof);
        if (reached === null) throw new FormatError(PROOF_NODE_ERROR);
        root = reached;
      }
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      this.unparsed = { line: this.line, message: error.message, peek: peekLine(text) };
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
        return this.onEvent(parsed, leaf, root);
      case "end":
        return this.onEnd(parsed);
    }
  }

  private onHeader(h: HeaderLine): void {
    const where = this.here();
    if (this.header) throw fail(where, "malformed-line", `a second header on line ${this.line}`);
    const mismatch = checkHeader(h, this.options.deployment);
    if (mismatch) throw fail(where, mismatch.reason, mismatch.detail);
    this.header = h;
    this.timeRange = new TimeRangeCheck(h.from, h.to);
  }

  private onBatch(b: BatchLine): void {
    const where: Location = { seq: b.firstSeq, id: null, batchId: b.batchId, line: this.line };
    this.closeBatch("batch");
    const prev = this.previousBatch;
    // The first batch may start anywhere (an export of a time range); after it, no batch may be skipped.
    if (prev && b.batchId !== prev.batchId + 1) {
      throw fail(where, b.batchId > prev.batchId ? "sequence-gap" : "sequence-order", `batch ${b.batchId} follows batch ${prev.batchId}`);
    }
    // Its events are read while the chain answers; the check's failure, if any, ranks before theirs.
    this.checks.add(where, this.checkBatchOnChain(b, prev), { rank: b.firstSeq - 0.5, final: true });

    this.checked.batches++;
    if (this.firstBatch === null) {
      this.firstBatch = b.batchId;
      this.firstSeq = b.firstSeq;
      // Mid-history exports cannot check their first link; a trail from the start must begin at zero.
      this.previousLeaf = b.firstSeq === 1 ? ZERO_HASH : null;
    }
    this.lastSeq = b.lastSeq;
    this.previousBatch = { batchId: b.batchId, lastSeq: b.lastSeq, pruned: b.pruned };
    this.timeRange!.open(b.batchId, b.firstSeq, b.lastSeq, b.pruned);
    if (b.pruned) {
      this.checked.prunedBatches++;
      this.notePruned(b);
      this.batch = null;
      this.previousLeaf = null; // the events that would carry the link are gone
      this.lastEventSeq = -1;
      return;
    }
    this.batch = { line: b, root: b.root, nextSeq: b.firstSeq };
    this.proofs.reset();
  }

  /** The batch line against the chain: anchored under this id for this range, with this root, in this block, not void. */
  private async checkBatchOnChain(b: BatchLine, prev: { lastSeq: number } | null): Promise<Failure | null> {
    const onChain = await this.options.chain.getBatch(b.batchId, b.firstSeq, b.lastSeq);
    if (!onChain) return { reason: "batch-not-on-chain", detail: `batch ${b.batchId} is not anchored on chain` };
    if ("rangeMismatch" in onChain) {
      return { reason: "range-mismatch", detail: `batch ${b.batchId} covers ${b.firstSeq}..${b.lastSeq} in the export, another range on chain` };
    }
    if (onChain.root !== b.root) return { reason: "root-mismatch", detail: `batch ${b.batchId} root ${b.root} in the export, ${onChain.root} on chain` };
    if (onChain.status !== BatchStatus.Anchored) {
      const state = onChain.status === BatchStatus.Void ? "void" : `superseded by batch ${onChain.supersededBy}`;
      return { reason: "batch-void", detail: `batch ${b.batchId} was declared ${state} on chain` };
    }
    if (b.blockNumber !== null && !(await this.options.chain.anchoredIn(b.blockNumber, b.batchId, onChain.root, b.firstSeq, b.lastSeq))) {
      return { reason: "anchor-mismatch", detail: `batch ${b.batchId} was not anchored in block ${b.blockNumber}, as the export says` };
    }
    // The chain itself refuses non-contiguous ranges; this guards against a chain that is not the AccessLedger we expect.
    if (prev && b.firstSeq !== prev.lastSeq + 1) return { reason: "sequence-gap", detail: `batch ${b.batchId} starts at ${b.firstSeq}, after ${prev.lastSeq}` };
    return null;
  }

  /**
   * The checks of one event, in an order that names the cause rather than a consequence: the leaf, then
   * the sequence (a deleted event is a gap before it breaks a link or a proof), then link and proof, then
   * what the event itself says (break-glass, time, consent).
   */
  private onEvent(e: EventRecord, leafHex: string, root: string): void {
    const batch = this.batch;
    if (!batch) {
      if (this.previousBatch?.pruned) throw fail(this.at(e), "range-mismatch", `event after batch ${this.previousBatch.batchId}, which is marked pruned`);
      throw fail(this.at(e), "malformed-line", "event before any batch line");
    }
    if (e.batchId !== batch.line.batchId) throw fail(this.at(e), "range-mismatch", `event says batch ${e.batchId} inside batch ${batch.line.batchId}`);
    if (batch.nextSeq > batch.line.lastSeq || e.seq > batch.line.lastSeq) {
      throw fail(this.at(e), "range-mismatch", `event seq ${e.seq} beyond batch ${batch.line.batchId}'s last seq ${batch.line.lastSeq}`);
    }

    this.checked.leaves++;
    if (leafHex !== e.leaf) throw fail(this.at(e), "leaf-mismatch", `fields hash to ${leafHex} as a format ${e.format} leaf, export says ${e.leaf}`);

    if (e.seq !== batch.nextSeq) {
      // diagnose() reads on: if the skipped seqs never come, they were deleted (event-missing).
      if (e.seq > batch.nextSeq) throw fail(this.at(e), "sequence-gap", `expected seq ${batch.nextSeq}, found ${e.seq}`);
      throw fail(this.at(e), "sequence-order", `expected seq ${batch.nextSeq}, found ${e.seq} again or out of order`);
    }
    if (this.previousLeaf !== null) {
      if (e.prevHash !== this.previousLeaf) throw fail(this.at(e), "hash-link-broken", `prevHash ${e.prevHash} is not the previous leaf ${this.previousLeaf}`);
      this.checked.hashLinks++;
    }
    if (root !== batch.root) {
      throw fail(this.at(e), "proof-invalid", `proof leads to ${root}, batch ${batch.line.batchId}'s on-chain root is ${batch.root}`);
    }
    this.checked.proofs++;
    this.checked.events++;
    batch.nextSeq++;
    this.previousLeaf = e.leaf;
    this.lastEventSeq = e.seq;
    this.lastEventId = e.id;

    if (e.decision === Decision.BreakGlass) this.onBreakGlass(e, batch.line);
    this.timeRange!.event(e.seq, e.id, e.time, this.line);
    if (isCheckedOnChain(e)) {
      if (e.decision === Decision.Permit) this.checked.permits++;
      else this.checked.denies++;
      const verdict = checkDecision(this.options.chain, e);
      if (verdict instanceof Promise) this.checks.add(this.at(e), verdict);
      else if (verdict) this.checks.addFailure(this.at(e), verdict);
    }
  }

  /** Where an event is, for a failure. */
  private at(e: EventRecord): Location {
    return { seq: e.seq, id: e.id, batchId: e.batchId, line: this.line };
  }

  private onBreakGlass(e: EventRecord, batch: BatchLine): void {
    const where = this.at(e);
    if ((e.purposes & PURPOSE_ETREAT) === 0n) throw fail(where, "break-glass-without-etreat", `break-glass with purposes ${e.purposes}`);
    // Anchored alone, a break-glass access is on chain as soon as it happens, not when a batch fills up.
    if (batch.firstSeq !== e.seq || batch.lastSeq !== e.seq) {
      throw fail(where, "break-glass-not-isolated", `break-glass in batch ${batch.batchId}, which covers seq ${batch.firstSeq}..${batch.lastSeq}`);
    }
    this.checked.breakGlass++;
    this.options.breakGlass.add({ seq: e.seq, id: e.id, time: e.time, actor: e.actor, patient: e.patient, batchId: e.batchId });
  }

  private onEnd(end: EndLine): void {
    this.closeBatch("end");
    const where = this.here();
    if (end.batches !== this.checked.batches || end.events !== this.checked.events) {
      throw fail(where, "count-mismatch", `end line counts ${end.batches} batches and ${end.events} events, the export has ${this.checked.batches} and ${this.checked.events}`);
    }
    this.ended = true;
  }

  private onEndOfFile(): void {
    if (this.unparsed) throw fail(this.unparsedAt(), "truncated", `the last line (${this.unparsed.line}) is incomplete: ${this.unparsed.message}`);
    if (!this.header) throw fail(this.here(), "truncated", "the export is empty");
    // No verdict on the batch's time range: with the end line gone, whether more batches followed is unknown.
    const batch = this.batch;
    if (batch && batch.nextSeq <= batch.line.lastSeq) {
      throw fail(this.here(), "truncated", `batch ${batch.line.batchId} stops before seq ${batch.nextSeq} of ${batch.line.firstSeq}..${batch.line.lastSeq}`);
    }
    if (!this.ended) throw fail(this.here(), "truncated", "the export has no end line");
  }

  /**
   * The open batch ends at a batch line or the end line. Events of its range that never came were
   * deleted; an interior batch's out-of-range event (verified, so at a lower seq) comes first.
   */
  private closeBatch(by: "batch" | "end"): void {
    const batch = this.batch;
    const complete = !batch || batch.nextSeq > batch.line.lastSeq;
    const range = this.timeRange;
    const outOfRange = by === "batch" ? range?.closeBeforeNext(this.line, complete) : range?.closeAtEnd(this.line, complete);
    if (outOfRange) throw new VerificationFailure(outOfRange);
    if (complete) return;
    const missing = { fromSeq: batch.nextSeq, toSeq: batch.line.lastSeq, before: this.lastEvent?.seq === batch.nextSeq - 1 ? this.lastEvent : null, after: null };
    this.closedShort = { nextSeq: batch.nextSeq, lastSeq: batch.line.lastSeq, seen: [], before: missing.before, closedBy: by };
    const where: Location = { seq: batch.nextSeq, id: null, batchId: batch.line.batchId, line: this.line };
    throw new VerificationFailure({ ...where, reason: "event-missing", detail: describeMissing(missing, batch.line.batchId), missing });
  }

  /**
   * Turns the failure found at one line into the first bad event, reading ahead when that needs later lines:
   * - a seq that skips ahead, a broken link or an invalid proof may be a deleted event's doing: if seqs of
   *   the batch never come (before a batch or end line), the deletion is reported instead (event-missing);
   * - a deletion found at a batch's close names the next exported event as its neighbour;
   * - an earlier event outside the time range is the first failure if its batch proves to be interior.
   */
  private async diagnose(failure: FirstFailure, source: LineSource): Promise<FirstFailure> {
    const closedShort = this.closedShort;
    if (closedShort && failure.reason === "event-missing" && failure.missing) {
      if (closedShort.closedBy === "end") return failure;
      const { missing } = await lookAhead(source, closedShort);
      return missing ? { ...failure, missing, detail: describeMissing(missing, failure.batchId!) } : failure;
    }
    const batch = this.batch;
    if (!batch || batch.nextSeq > batch.line.lastSeq) return failure;
    const outOfRange = this.timeRange?.ifInterior() ?? null;
    const earlierOutOfRange = outOfRange && outOfRange.seq! < (failure.seq ?? Infinity) ? outOfRange : null;
    const mayBeGap = CONSEQUENCES_OF_A_GAP.has(failure.reason) && failure.batchId === batch.line.batchId && failure.seq !== null;
    if (!mayBeGap && !earlierOutOfRange) return failure;

    const seen = mayBeGap ? [{ seq: failure.seq!, id: failure.id }] : [];
    const ahead = await lookAhead(source, { nextSeq: batch.nextSeq, lastSeq: batch.line.lastSeq, seen, before: this.lastEvent });
    if (earlierOutOfRange && ahead.closedBy === "batch") return earlierOutOfRange;
    const m = mayBeGap ? ahead.missing : null;
    // A seq that skips ahead over events still to come is a reordering, reported where it shows.
    if (!m || (failure.reason === "sequence-gap" && m.fromSeq > failure.seq!)) return failure;
    const batchId = batch.line.batchId;
    return { seq: m.fromSeq, id: null, batchId, line: failure.line, reason: "event-missing", detail: describeMissing(m, batchId), missing: m };
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

  private get lastEvent(): Neighbour | null {
    return this.lastEventSeq < 0 ? null : { seq: this.lastEventSeq, id: this.lastEventId };
  }

  /** The place to blame when no event is at fault: the next expected event of the open batch, if any. */
  private here(): Location {
    const batch = this.batch;
    if (batch && batch.nextSeq <= batch.line.lastSeq) return { seq: batch.nextSeq, id: null, batchId: batch.line.batchId, line: this.line };
    return { seq: null, id: null, batchId: this.previousBatch?.batchId ?? null, line: this.line };
  }

  /** The unparsed line's own event, as far as its surviving text names it (a cut line may lack its id). */
  private unparsedAt(): Location {
    const { line, peek } = this.unparsed!;
    const here = this.here();
    if (peek.kind !== "event") return { ...here, line };
    return { seq: peek.seq ?? here.seq, id: peek.id, batchId: peek.batchId ?? here.batchId, line };
  }
}
