import { Injectable } from "@nestjs/common";
import { DataSource, type EntityManager } from "typeorm";
import { prepared } from "../database/prepared";
import { CURRENT_FORMAT, leafHash, type AccessEventFields } from "./access-event";
import { AccessEventEntity, AccessLogHeadEntity } from "./audit.entities";

/** An event before it has a place in the chain of events. */
export type AccessEventDraft = Omit<AccessEventFields, "seq" | "prevHash" | "format"> & {
  resourceType: string | null;
  resourceId: string | null;
  justification: string | null;
};

const LOCK_HEAD = prepared("access_log_lock_head", `SELECT last_seq, last_leaf FROM access_log_head WHERE id = 1 FOR UPDATE`);
const MOVE_HEAD = prepared("access_log_move_head", `UPDATE access_log_head SET last_seq = $1, last_leaf = $2 WHERE id = 1`);

const INSERT_EVENTS = prepared(
  "access_log_insert",
  `INSERT INTO access_events (seq, id, time_ms, format, actor, requester, patient, action, categories, purposes, decision, consent_id, request_hash, prev_hash, leaf, resource_type, resource_id, justification)
   SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::smallint[], $9::integer[], $10::integer[], $11::smallint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])`,
);

export interface TrailQuery {
  patient?: string;
  actor?: string;
  fromMs?: number;
  toMs?: number;
  afterSeq?: number;
  limit: number;
}

@Injectable()
export class AccessEventRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends events to the hash chain in one transaction: lock the head, number the events after it,
   * link each to the previous leaf, insert, move the head. Concurrent writers (other instances)
   * queue on the head row, so sequence numbers stay gapless and in commit order.
   */
  async append(drafts: readonly AccessEventDraft[]): Promise<AccessEventEntity[]> {
    // Plain SQL: this runs once per group commit, on every audited request's path.
    return this.dataSource.transaction(async (m) => {
      const [head] = (await m.query(LOCK_HEAD)) as Array<{ last_seq: string; last_leaf: string }>;
      let seq = Number(head.last_seq);
      let prev = head.last_leaf;
      const rows = drafts.map((d) => {
        seq += 1;
        const fields: AccessEventFields = { ...d, format: CURRENT_FORMAT, seq, prevHash: prev };
        prev = "0x" + leafHash(fields).toString("hex");
        return { ...d, format: CURRENT_FORMAT, seq, prevHash: fields.prevHash, leaf: prev, batchId: null } as AccessEventEntity;
      });
      // One statement of fixed text whatever the group's size (a column per array), so it is planned once.
      const column = <K extends keyof AccessEventEntity>(key: K) => rows.map((r) => r[key]);
      await m.query(INSERT_EVENTS, [
        column("seq"), column("id"), column("timeMs"), column("format"), column("actor"), column("requester"), column("patient"), column("action"), column("categories"),
        column("purposes"), column("decision"), column("consentId"), column("requestHash"), column("prevHash"), column("leaf"), column("resourceType"), column("resourceId"), column("justification"),
      ]);
      await m.query(MOVE_HEAD, [seq, prev]);
      return rows;
    });
  }

  findById(id: string): Promise<AccessEventEntity | null> {
    return this.dataSource.getRepository(AccessEventEntity).findOneBy({ id });
  }

  /** Events from `firstSeq` on, in order, at most `limit`. Plain SQL: the trail monitor and the anchorer read every event. */
  async eventsFrom(firstSeq: number, limit: number): Promise<AccessEventEntity[]> {
    const rows: RawEvent[] = await this.dataSource.query(`SELECT ${EVENT_COLUMNS} FROM access_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [firstSeq, limit]);
    return rows.map(fromRaw);
  }

  /** Events with seq in [firstSeq, lastSeq], in order: what a batch's range should hold. */
  async eventsInRange(firstSeq: number, lastSeq: number): Promise<AccessEventEntity[]> {
    const rows: RawEvent[] = await this.dataSource.query(`SELECT ${EVENT_COLUMNS} FROM access_events WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [firstSeq, lastSeq]);
    return rows.map(fromRaw);
  }

  /** The log head and the last event, read in one statement (one snapshot), for the trail monitor. */
  async headState(): Promise<{ lastSeq: number; lastLeaf: string; maxSeq: number; maxLeaf: string | null }> {
    const [row] = (await this.dataSource.query(
      `SELECT h.last_seq, h.last_leaf, e.seq AS max_seq, e.leaf AS max_leaf
         FROM access_log_head h
         LEFT JOIN LATERAL (SELECT seq, leaf FROM access_events ORDER BY seq DESC LIMIT 1) e ON true
        WHERE h.id = 1`,
    )) as Array<{ last_seq: string; last_leaf: string; max_seq: string | null; max_leaf: string | null }>;
    return { lastSeq: Number(row.last_seq), lastLeaf: row.last_leaf, maxSeq: Number(row.max_seq ?? 0), maxLeaf: row.max_leaf };
  }

  eventsOfBatch(batchId: number): Promise<AccessEventEntity[]> {
    return this.dataSource.getRepository(AccessEventEntity).find({ where: { batchId }, order: { seq: "ASC" } });
  }

  async leavesOfBatch(batchId: number): Promise<string[]> {
    const rows = await this.dataSource
      .getRepository(AccessEventEntity)
      .find({ where: { batchId }, select: { leaf: true }, order: { seq: "ASC" } });
    return rows.map((r) => r.leaf);
  }

  async lastSeq(): Promise<number> {
    return (await this.dataSource.getRepository(AccessLogHeadEntity).findOneByOrFail({ id: 1 })).lastSeq;
  }

  /** Marks events firstSeq..lastSeq as belonging to a batch, inside the batch's transaction. */
  async assignBatch(m: EntityManager, batchId: number, firstSeq: number, lastSeq: number): Promise<void> {
    await m
      .createQueryBuilder()
      .update(AccessEventEntity)
      .set({ batchId })
      .where("seq BETWEEN :firstSeq AND :lastSeq", { firstSeq, lastSeq })
      .execute();
  }

  /** A page of the trail, newest last, filtered by patient and/or actor and time. */
  query(q: TrailQuery): Promise<AccessEventEntity[]> {
    const qb = this.dataSource.getRepository(AccessEventEntity).createQueryBuilder("e").orderBy("e.seq", "ASC").limit(q.limit);
    if (q.patient) qb.andWhere("e.patient = :patient", { patient: q.patient.toLowerCase() });
    if (q.actor) qb.andWhere("e.actor = :actor", { actor: q.actor.toLowerCase() });
    if (q.fromMs !== undefined) qb.andWhere("e.time_ms >= :fromMs", { fromMs: q.fromMs });
    if (q.toMs !== undefined) qb.andWhere("e.time_ms < :toMs", { toMs: q.toMs });
    if (q.afterSeq !== undefined) qb.andWhere("e.seq > :afterSeq", { afterSeq: q.afterSeq });
    return qb.getMany();
  }

  /**
   * Erasure: blanks the columns of the patient's events that are not part of the leaf and can name them
   * (the resource id, a break-glass justification). The anchored fields stay, so the trail still verifies.
   */
  async blankIdentifyingColumns(patient: string): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      // The one update the append-only trigger allows besides batching: this transaction only.
      await m.query(`SET LOCAL consentry.erasure = 'on'`);
      const result = await m
        .createQueryBuilder()
        .update(AccessEventEntity)
        .set({ resourceId: null, justification: null })
        .where("patient = :patient AND (resource_id IS NOT NULL OR justification IS NOT NULL)", { patient: patient.toLowerCase() })
        .execute();
      return result.affected ?? 0;
    });
  }

  /** Deletes the events of the given anchored batches (retention); their batch headers stay. */
  async deleteEventsOfBatches(m: EntityManager, batchIds: number[]): Promise<number> {
    if (batchIds.length === 0) return 0;
    const result = await m.createQueryBuilder().delete().from(AccessEventEntity).where("batch_id IN (:...batchIds)", { batchIds }).execute();
    return result.affected ?? 0;
  }
}

const EVENT_COLUMNS =
  "seq, id, time_ms, format, actor, requester, patient, action, categories, purposes, decision, consent_id, request_hash, prev_hash, leaf, batch_id, resource_type, resource_id, justification";

interface RawEvent {
  seq: string;
  id: string;
  time_ms: string;
  format: number;
  actor: string;
  requester: string;
  patient: string;
  action: number;
  categories: number;
  purposes: number;
  decision: number;
  consent_id: string;
  request_hash: string;
  prev_hash: string;
  leaf: string;
  batch_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  justification: string | null;
}

function fromRaw(r: RawEvent): AccessEventEntity {
  return Object.assign(new AccessEventEntity(), {
    seq: Number(r.seq),
    id: r.id,
    timeMs: Number(r.time_ms),
    format: Number(r.format) as 1 | 2,
    actor: r.actor,
    requester: r.requester,
    patient: r.patient,
    action: Number(r.action),
    categories: Number(r.categories),
    purposes: Number(r.purposes),
    decision: Number(r.decision),
    consentId: r.consent_id,
    requestHash: r.request_hash,
    prevHash: r.prev_hash,
    leaf: r.leaf,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    justification: r.justification,
  });
}
