import { EventEmitter } from "node:events";
import { DataSource, In, type Repository } from "typeorm";
import type { QueryDeepPartialEntity } from "typeorm/query-builder/QueryPartialEntity";
import { metrics } from "../../common/metrics";
import { ChainTransactionEntity, type ChainTransactionState } from "./chain-transaction.entity";

export type NewChainTransaction = Pick<ChainTransactionEntity, "signer" | "kind" | "ref" | "to" | "data" | "value">;
export type ChainTransactionPatch = QueryDeepPartialEntity<ChainTransactionEntity>;

/**
 * The SQL behind `chain_transactions`. Every write that changes a row is conditional on the state it
 * expects, so a writer that lost its lease (and whatever it still had in flight) cannot overwrite what
 * the new writer recorded. Each change is announced on `changes` ("change", row) for in-process waiters.
 */
export class ChainTransactionRepository {
  readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(private readonly dataSource: DataSource) {}

  private get rows(): Repository<ChainTransactionEntity> {
    return this.dataSource.getRepository(ChainTransactionEntity);
  }

  async create(request: NewChainTransaction): Promise<ChainTransactionEntity> {
    const result = await this.rows.insert({ ...request, state: "created" });
    metrics.chainTransaction(request.kind, "created");
    return this.announce((await this.get(Number(result.identifiers[0].id)))!);
  }

  get(id: number): Promise<ChainTransactionEntity | null> {
    return this.rows.findOneBy({ id });
  }

  /** The newest row for a caller's reference; after a replacement that is the resubmission. */
  findLatestByRef(signer: string, kind: string, ref: string): Promise<ChainTransactionEntity | null> {
    return this.rows.findOne({ where: { signer, kind, ref }, order: { id: "DESC" } });
  }

  /** Rows of one signer in the given states, by nonce then age: the order they were or will be sent. */
  list(signer: string, states: ChainTransactionState[], limit?: number): Promise<ChainTransactionEntity[]> {
    return this.rows.find({ where: { signer, state: In(states) }, order: { nonce: "ASC", id: "ASC" }, take: limit });
  }

  count(signer: string, states: ChainTransactionState[]): Promise<number> {
    return this.rows.countBy({ signer, state: In(states) });
  }

  /** Highest nonce among the signer's rows in `states`, or null. */
  async maxNonce(signer: string, states: ChainTransactionState[]): Promise<number | null> {
    const row = await this.rows
      .createQueryBuilder("t")
      .select("max(t.nonce)", "max")
      .where("t.signer = :signer AND t.state IN (:...states)", { signer, states })
      .getRawOne<{ max: number | string | null }>();
    return row?.max == null ? null : Number(row.max);
  }

  /** Applies `patch` if the row is still in one of the `from` states; the updated row, or null if it was not. */
  async transition(id: number, from: ChainTransactionState[], patch: ChainTransactionPatch): Promise<ChainTransactionEntity | null> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set(patch)
      .where("id = :id AND state IN (:...from)", { id, from })
      .execute();
    if (!result.affected) return null;
    const row = this.announce((await this.get(id))!);
    if (typeof patch.state === "string") metrics.chainTransaction(row.kind, patch.state);
    return row;
  }

  /**
   * Marks a sent row replaced and queues the same request again as a new row linked from it, in one
   * transaction so the request is never lost nor queued twice. Null if the row was no longer 'sent'.
   */
  async replace(row: ChainTransactionEntity, reason: string): Promise<ChainTransactionEntity | null> {
    const ids = await this.dataSource.transaction(async (em) => {
      const rows = em.getRepository(ChainTransactionEntity);
      const { signer, kind, ref, to, data, value } = row;
      const inserted = await rows.insert({ signer, kind, ref, to, data, value, state: "created" });
      const next = Number(inserted.identifiers[0].id);
      const updated = await rows
        .createQueryBuilder()
        .update()
        .set({ state: "replaced", replacedBy: next, lastError: reason })
        .where("id = :id AND state = 'sent'", { id: row.id })
        .execute();
      if (!updated.affected) throw new ReplaceConflict();
      return { next };
    }).catch((error) => {
      if (error instanceof ReplaceConflict) return null;
      throw error;
    });
    if (!ids) return null;
    metrics.chainTransaction(row.kind, "replaced");
    metrics.chainTransaction(row.kind, "created");
    const next = this.announce((await this.get(ids.next))!);
    this.announce((await this.get(row.id))!);
    return next;
  }

  /** Rows per state (one scan of the table: read at metrics scrapes, never per request). */
  async countByState(): Promise<Array<{ state: ChainTransactionState; count: number }>> {
    const rows: Array<{ state: ChainTransactionState; count: string | number }> = await this.dataSource.query(
      "SELECT state, count(*) AS count FROM chain_transactions GROUP BY state",
    );
    return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
  }

  /** Whether the signer has requests still to send or to see confirmed. */
  async hasUnfinished(signer: string): Promise<boolean> {
    return (await this.count(signer, ["created", "sent", "mined"])) > 0;
  }

  private announce(row: ChainTransactionEntity): ChainTransactionEntity {
    this.changes.emit("change", row);
    return row;
  }
}

class ReplaceConflict extends Error {}
