import { Inject, Injectable } from "@nestjs/common";
import { Readable } from "node:stream";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { LEAF_TYPES, LEAF_TYPES_V1 } from "./access-event";
import { AccessEventRepository } from "./access-event.repository";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { StandardTree } from "./merkle";

/** The export format's version (docs/access-trail.md). */
export const EXPORT_VERSION = 2;

/** Batches fetched per database round trip; memory holds one batch's events at a time. */
const EXPORT_BATCH_PAGE = 50;

/** The regulator's export (docs/access-trail.md): NDJSON, streamed in constant memory. */
@Injectable()
export class ExportService {
  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly batches: AnchorBatchRepository,
    private readonly events: AccessEventRepository,
  ) {}

  stream(fromMs: number, toMs: number): Readable {
    return Readable.from(this.lines(fromMs, toMs), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  private async *lines(fromMs: number, toMs: number): AsyncGenerator<string> {
    const d = this.deployment;
    yield json({
      kind: "header",
      version: EXPORT_VERSION,
      chainId: d.chainId,
      accessLedger: d.contracts.AccessLedger.address,
      consentRegistry: d.contracts.ConsentRegistry.address,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      leafTypes: LEAF_TYPES,
      leafTypesV1: LEAF_TYPES_V1,
    });
    let batchCount = 0;
    let eventCount = 0;
    const span = await this.batches.spanOf(fromMs, toMs);
    let after = span ? span.first - 1 : 0;
    for (;;) {
      const page = span ? await this.batches.confirmedUpTo(after, span.last, EXPORT_BATCH_PAGE) : [];
      if (page.length === 0) break;
      for (const batch of page) {
        after = batch.batchId;
        batchCount++;
        const pruned = batch.eventsPrunedAt !== null;
        yield json({
          kind: "batch",
          batchId: batch.batchId,
          root: batch.root,
          firstSeq: batch.firstSeq,
          lastSeq: batch.lastSeq,
          txHash: batch.txHash,
          blockNumber: batch.blockNumber,
          pruned,
        });
        if (pruned) continue;
        const events = await this.events.eventsOfBatch(batch.batchId);
        // The leaves are in hand: no second read, and a long export does not churn the proof cache.
        const tree = new StandardTree(events.map((e) => Buffer.from(e.leaf.slice(2), "hex")));
        let chunk = "";
        for (const e of events) {
          eventCount++;
          chunk += json({
            kind: "event",
            format: e.format,
            batchId: batch.batchId,
            seq: e.seq,
            id: e.id,
            time: e.timeMs,
            actor: e.actor,
            requester: e.requester,
            patient: e.patient,
            action: e.action,
            categories: String(e.categories),
            purposes: String(e.purposes),
            decision: e.decision,
            consentId: e.consentId,
            requestHash: e.requestHash,
            prevHash: e.prevHash,
            leaf: e.leaf,
            proof: tree.proof(Buffer.from(e.leaf.slice(2), "hex")).map((n) => "0x" + n.toString("hex")),
          });
        }
        yield chunk;
      }
    }
    yield json({ kind: "end", batches: batchCount, events: eventCount });
  }
}

const json = (value: unknown) => JSON.stringify(value) + "\n";
