import { api, ApiError, apiRaw } from "./api";
import { ChainUnreachable, type ChainReader, type OnChainBatch } from "./chain";
import type { Context } from "./context";
import { exportLeaf, leafHash, mismatches, processProof, standardRoot, type BatchView, type EventProof, type EventView, type ExportEvent } from "./trail";

/** What the browser could establish about one access event. */
export type Verification =
  | { state: "pending"; note: string }
  | { state: "verified-on-chain"; batch: BatchView; note: string }
  | { state: "verified-service-root"; batch: BatchView; note: string }
  | { state: "failed"; note: string }
  | { state: "error"; note: string; retryAfter?: number };

/** Roots read from the chain, per batch and range (an anchored root never changes; a status might, so they age out). */
const roots = new Map<string, { at: number; batch: OnChainBatch | null }>();
const ROOT_TTL_MS = 60_000;

export async function rootOnChain(chain: ChainReader, batch: { batchId: number; firstSeq: number; lastSeq: number }): Promise<OnChainBatch | null> {
  const key = `${batch.batchId}:${batch.firstSeq}:${batch.lastSeq}`;
  const cached = roots.get(key);
  if (cached && cached.batch && Date.now() - cached.at < ROOT_TTL_MS) return cached.batch;
  const onChain = await chain.getBatch(batch.batchId, batch.firstSeq, batch.lastSeq);
  roots.set(key, { at: Date.now(), batch: onChain });
  return onChain;
}

/**
 * Fetches the event's inclusion proof, recomputes its leaf from the committed values (after checking they
 * are the values shown), walks the proof, and compares the root with the one the chain itself holds for
 * the batch — or, when the chain cannot be reached from this browser, with the service's root, saying so.
 */
export async function verifyEvent(ctx: Context, chain: ChainReader, event: EventView): Promise<Verification> {
  if (event.batchId === null) return { state: "pending", note: "Not anchored yet: waiting for its batch" };
  let proof: EventProof;
  try {
    proof = await api<EventProof>(`/audit/events/${event.id}/proof`);
  } catch (error) {
    if (error instanceof ApiError && error.slug === "not-yet-anchored") return { state: "pending", note: "Batch not confirmed on chain yet" };
    if (error instanceof ApiError && error.status === 429) return { state: "error", note: "Rate limited; retrying", retryAfter: error.retryAfter };
    return { state: "error", note: error instanceof ApiError ? error.message : String(error) };
  }
  const tables = { categories: ctx.wellKnown.categories.codes, purposes: ctx.wellKnown.purposes.codes };
  const differ = mismatches(event, proof, tables);
  if (differ.length > 0) return { state: "failed", note: `The proof is about other values than those shown (${differ.join("; ")})` };
  let leaf: string;
  let leafNote = "";
  if (proof.leafValues) {
    leaf = leafHash(proof.leafEncoding, proof.leafValues);
    if (leaf.toLowerCase() !== proof.leaf.toLowerCase()) return { state: "failed", note: "The recomputed leaf differs from the service's leaf" };
  } else {
    // The service withholds the values of a refused read from its requester (they would name the patient).
    leaf = proof.leaf;
    leafNote = " (leaf values withheld from the requester; the service's leaf was used)";
  }
  const root = processProof(leaf, proof.proof);
  const batch = proof.batch;
  if (batch.chainId !== ctx.wellKnown.chainId || batch.contract.toLowerCase() !== ctx.wellKnown.contracts.AccessLedger.toLowerCase()) {
    return { state: "failed", note: "The proof names another chain or ledger than this deployment" };
  }
  try {
    const onChain = await rootOnChain(chain, batch);
    if (!onChain) return { state: "failed", note: `The chain holds no batch ${batch.batchId} for events ${batch.firstSeq}–${batch.lastSeq}` };
    if (onChain.status !== "anchored") return { state: "failed", note: `Batch ${batch.batchId} is ${onChain.status} on chain` };
    if (onChain.root !== root) return { state: "failed", note: `The proof leads to ${root}, but the chain holds ${onChain.root} for batch ${batch.batchId}` };
    return { state: "verified-on-chain", batch, note: `Verified on chain: batch ${batch.batchId}, block ${batch.blockNumber ?? "?"}${leafNote}` };
  } catch (error) {
    if (!(error instanceof ChainUnreachable)) return { state: "error", note: `Reading the chain failed: ${(error as Error).message}` };
    if (root !== batch.root.toLowerCase()) return { state: "failed", note: "The proof does not lead to the service's root for its batch" };
    return {
      state: "verified-service-root",
      batch,
      note: `Proof checked against the service's root for batch ${batch.batchId}, not against the chain: ${error.message}${leafNote}`,
    };
  }
}

export interface BatchReport {
  ok: boolean;
  onChain: boolean;
  lines: string[];
  failure?: string;
}

/**
 * Verifies a whole batch in the browser: takes the batch's events from the export (every field of every
 * event), recomputes each leaf, checks the sequence is complete and the hash links hold, builds the tree,
 * and compares its root with the chain's (or, when the chain is out of reach, the service's).
 */
export async function verifyBatch(ctx: Context, chain: ChainReader, batchId: number, progress: (message: string) => void): Promise<BatchReport> {
  const lines: string[] = [];
  const fail = (failure: string, onChain = false): BatchReport => ({ ok: false, onChain, lines, failure });
  const batch = await api<BatchView>(`/audit/batches/${batchId}`);
  lines.push(`Batch ${batch.batchId}: events ${batch.firstSeq}–${batch.lastSeq}, state ${batch.state}, root ${batch.root}`);
  if (batch.state !== "confirmed") return fail("The batch is not confirmed on chain yet");
  if (batch.eventsPruned) return fail("The batch's events were pruned by retention: only its header remains");
  progress(`Batch ${batchId}: finding its first event…`);
  const first = await api<{ events: EventView[] }>(`/audit/events?after=${batch.firstSeq - 1}&limit=1`);
  const firstEvent = first.events[0];
  if (!firstEvent || firstEvent.seq !== batch.firstSeq) return fail(`Event ${batch.firstSeq} is missing from the trail`);
  // The export holds every event of each batch with an event in the range: a 1 ms range at the first event suffices.
  const from = new Date(Date.parse(firstEvent.time)).toISOString();
  const to = new Date(Date.parse(firstEvent.time) + 1).toISOString();
  progress(`Batch ${batchId}: downloading its events from the export…`);
  const text = await apiRaw(`/audit/export?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, {}, "application/x-ndjson").then((r) => r.text());
  const records = text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { kind: string; batchId?: number } & Record<string, unknown>);
  const header = records.find((r) => r.kind === "header") as { chainId?: number; accessLedger?: string } | undefined;
  if (!header || header.chainId !== ctx.wellKnown.chainId || String(header.accessLedger).toLowerCase() !== ctx.wellKnown.contracts.AccessLedger.toLowerCase()) {
    return fail("The export names another chain or ledger than this deployment");
  }
  const events = records.filter((r) => r.kind === "event" && r.batchId === batchId) as unknown as ExportEvent[];
  const expected = batch.lastSeq - batch.firstSeq + 1;
  if (events.length !== expected) return fail(`The export holds ${events.length} events of batch ${batchId}, expected ${expected}`);
  progress(`Batch ${batchId}: recomputing ${events.length} leaves…`);
  const leaves: string[] = [];
  let breakGlass = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.seq !== batch.firstSeq + i) return fail(`Sequence broken: expected event ${batch.firstSeq + i}, found ${e.seq}`);
    const leaf = exportLeaf(e);
    if (leaf.toLowerCase() !== e.leaf.toLowerCase()) return fail(`Event ${e.seq}: its fields do not hash to its leaf (edited?)`);
    if (i > 0 && e.prevHash.toLowerCase() !== leaves[i - 1]) return fail(`Event ${e.seq}: its hash link does not name event ${e.seq - 1}`);
    if (e.decision === 4) breakGlass++;
    leaves.push(leaf.toLowerCase());
    if (i % 500 === 499) {
      progress(`Batch ${batchId}: ${i + 1} of ${events.length} leaves recomputed…`);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  lines.push(`${events.length} events, sequence complete, every leaf recomputed from its fields, hash links intact`);
  if (breakGlass > 0) lines.push(`${breakGlass} break-glass access${breakGlass > 1 ? "es" : ""} in this batch`);
  const root = standardRoot(leaves);
  lines.push(`Root rebuilt in this browser: ${root}`);
  try {
    const onChain = await rootOnChain(chain, batch);
    if (!onChain) return fail(`The chain holds no batch ${batchId} for events ${batch.firstSeq}–${batch.lastSeq}`, true);
    if (onChain.status !== "anchored") return fail(`Batch ${batchId} is ${onChain.status} on chain`, true);
    if (onChain.root !== root) return fail(`The chain holds root ${onChain.root}: the events differ from what was anchored`, true);
    lines.push(`The chain holds the same root for batch ${batchId} (read from ${chain.url}, block ${batch.blockNumber ?? "?"})`);
    return { ok: true, onChain: true, lines };
  } catch (error) {
    if (!(error instanceof ChainUnreachable)) throw error;
    if (root !== batch.root.toLowerCase()) return fail("The rebuilt root differs from the service's root");
    lines.push(`Checked against the service's root only: ${error.message}`);
    return { ok: true, onChain: false, lines };
  }
}
