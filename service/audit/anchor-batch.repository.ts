import { Injectable } from "@nestjs/common";
import { DataSource, In, Not } from "typeorm";
import { AccessEventRepository } from "./access-event.repository";
import { AnchorBatchEntity } from "./audit.entities";

@Injectable()
export class AnchorBatchRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: AccessEventRepository,
  ) {}

  private get batches() {
    return this.dataSource.getRepository(AnchorBatchEntity);
  }

  last(): Promise<AnchorBatchEntity | null> {
    return this.batches.findOne({ where: {}, order: { batchId: "DESC" } });
  }

  find(batchId: number): Promise<AnchorBatchEntity | null> {
    return this.batches.findOneBy({ batchId });
  }

  /** Batches after `batchId`, in order, at most `limit`. */
  after(batchId: number, limit: number): Promise<AnchorBatchEntity[]> {
    return this.batches.createQueryBuilder("b").where("b.batch_id > :batchId", { batchId }).orderBy("b.batchId", "ASC").limit(limit).getMany();
  }

  /** Batches not yet confirmed on chain, oldest first: they are anchored before anything new. */
  unconfirmed(): Promise<AnchorBatchEntity[]> {
    return this.batches.find({ where: { state: Not("confirmed") }, order: { batchId: "ASC" } });
  }

  /** Records a built batch and stamps its events with it, atomically. */
  async create(batch: Pick<AnchorBatchEntity, "batchId" | "firstSeq" | "lastSeq" | "root" | "breakGlass">): Promise<AnchorBatchEntity> {
    return this.dataSource.transaction(async (m) => {
      await m.insert(AnchorBatchEntity, { ...batch, state: "built" });
      await this.events.assignBatch(m, batch.batchId, batch.firstSeq, batch.lastSeq);
      return m.findOneByOrFail(AnchorBatchEntity, { batchId: batch.batchId });
    });
  }

  async markSubmitted(batchId: number, txId: string, txHash: string | null): Promise<void> {
    await this.batches.update({ batchId, state: Not("confirmed") }, { state: "submitted", txId, txHash });
  }

  async markConfirmed(batchId: number, txHash: string, blockNumber: number): Promise<void> {
    // A confirmed batch's anchoring never changes (the database refuses it).
    await this.batches.update({ batchId, state: Not("confirmed") }, { state: "confirmed", txHash, blockNumber, anchoredAt: new Date() });
  }

  /**
   * The batch ids an export of [fromMs, toMs) spans: from the first batch with an event in the range to the
   * last (pruned batches by when they were built). Everything between is exported too, so an export never
   * skips a batch whose events' times ran slightly out of order with their sequence numbers.
   */
  async spanOf(fromMs: number, toMs: number): Promise<{ first: number; last: number } | null> {
    const [row] = (await this.dataSource.query(
      `SELECT min(batch_id) AS first, max(batch_id) AS last FROM (
         SELECT batch_id FROM access_events WHERE time_ms >= $1 AND time_ms < $2 AND batch_id IS NOT NULL
         UNION ALL
         SELECT batch_id FROM anchor_batches WHERE events_pruned_at IS NOT NULL AND created_at >= to_timestamp($3) AND created_at < to_timestamp($4)
       ) s`,
      [fromMs, toMs, fromMs / 1000, toMs / 1000],
    )) as Array<{ first: string | null; last: string | null }>;
    return row.first === null ? null : { first: Number(row.first), last: Number(row.last) };
  }

  /** Confirmed batches with ids in (afterBatchId, lastBatchId], in order, at most `limit`. */
  confirmedUpTo(afterBatchId: number, lastBatchId: number, limit: number): Promise<AnchorBatchEntity[]> {
    return this.batches
      .createQueryBuilder("b")
      .where("b.state = 'confirmed'")
      .andWhere("b.batch_id > :afterBatchId AND b.batch_id <= :lastBatchId", { afterBatchId, lastBatchId })
      .orderBy("b.batchId", "ASC")
      .limit(limit)
      .getMany();
  }

  /** Confirmed batches whose newest event is older than `cutoffMs` and still hold events. */
  async prunable(cutoffMs: number): Promise<number[]> {
    const rows: Array<{ batch_id: string }> = await this.dataSource.query(
      `SELECT b.batch_id FROM anchor_batches b
        WHERE b.state = 'confirmed' AND b.events_pruned_at IS NULL
          AND (SELECT max(e.time_ms) FROM access_events e WHERE e.batch_id = b.batch_id) < $1
        ORDER BY b.batch_id`,
      [cutoffMs],
    );
    return rows.map((r) => Number(r.batch_id));
  }

  /** Deletes the events of `batchIds` and stamps the batches, keeping their headers verifiable. */
  async pruneEvents(batchIds: number[]): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      // The one path the append-only trigger lets delete events (docs/access-trail.md): this transaction only.
      await m.query(`SET LOCAL consentry.retention = 'on'`);
      const deleted = await this.events.deleteEventsOfBatches(m, batchIds);
      await m.update(AnchorBatchEntity, { batchId: In(batchIds) }, { eventsPrunedAt: new Date() });
      return deleted;
    });
  }

  /**
   * How far anchoring has come, for the metrics: the log's head, the last event of the latest confirmed
   * batch (batches confirm in order), and the batches after it. Index reads only, whatever the trail's length.
   */
  async anchoringProgress(): Promise<{ headSeq: number; anchoredThroughSeq: number; unconfirmedBatches: number }> {
    const [row] = (await this.dataSource.query(
      `WITH c AS (SELECT batch_id, last_seq FROM anchor_batches WHERE state = 'confirmed' ORDER BY batch_id DESC LIMIT 1)
       SELECT coalesce((SELECT last_seq FROM access_log_head WHERE id = 1), 0) AS head,
              coalesce((SELECT last_seq FROM c), 0) AS anchored,
              (SELECT count(*) FROM anchor_batches WHERE batch_id > coalesce((SELECT batch_id FROM c), 0)) AS batches`,
    )) as Array<{ head: string | number; anchored: string | number; batches: string | number }>;
    return { headSeq: Number(row.head), anchoredThroughSeq: Number(row.anchored), unconfirmedBatches: Number(row.batches) };
  }

  /** What is recorded but not yet confirmed on chain: batches in flight and events not yet in any batch. */
  async backlog(): Promise<{ unconfirmedBatches: number; unbatchedEvents: number }> {
    const [row] = (await this.dataSource.query(
      `SELECT (SELECT count(*) FROM anchor_batches WHERE state <> 'confirmed') AS batches,
              (SELECT last_seq FROM access_log_head WHERE id = 1) - coalesce((SELECT max(last_seq) FROM anchor_batches), 0) AS events`,
    )) as Array<{ batches: string; events: string }>;
    return { unconfirmedBatches: Number(row.batches), unbatchedEvents: Number(row.events) };
  }
}
