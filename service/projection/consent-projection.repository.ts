import { Injectable } from "@nestjs/common";
import { DataSource, type EntityManager, In, LessThan, MoreThan } from "typeorm";
import { ConsentEntity } from "./consent.entity";
import type { BlockRef, RegistryEvent } from "./registry-events";
import { IndexedBlockEntity, IndexerStateEntity, RoleEventEntity } from "./indexer.entities";
import { prepared } from "../database/prepared";

const INDEXER_STATE = prepared(
  "indexer_state",
  `SELECT name, block_number, block_hash, block_timestamp, head_number, caught_up_at, polled_at, last_error FROM indexer_state WHERE name = $1`,
);

/** The latest indexed grant or revocation of a role for one account. */
export interface RoleChange {
  account: string;
  granted: boolean;
  blockNumber: number;
  /** The block's timestamp (unix seconds): when the change took effect on chain. */
  blockTimestamp: number;
}

export interface IndexerCursor {
  blockNumber: number;
  blockHash: string;
  blockTimestamp: number;
}

/** The consent projection and the indexer's bookkeeping. Every write is one transaction. */
@Injectable()
export class ConsentProjectionRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Where indexer `name` stands. Plain SQL, prepared: an instance that does not index asks this on every request. */
  async state(name: string): Promise<IndexerStateEntity | null> {
    const [row] = (await this.dataSource.query(INDEXER_STATE, [name])) as Array<{
      name: string;
      block_number: string;
      block_hash: string;
      block_timestamp: string;
      head_number: string;
      caught_up_at: Date | null;
      polled_at: Date | null;
      last_error: string | null;
    }>;
    if (!row) return null;
    return Object.assign(new IndexerStateEntity(), {
      name: row.name,
      blockNumber: Number(row.block_number),
      blockHash: row.block_hash,
      blockTimestamp: Number(row.block_timestamp),
      headNumber: Number(row.head_number),
      caughtUpAt: row.caught_up_at === null ? null : new Date(row.caught_up_at),
      polledAt: row.polled_at === null ? null : new Date(row.polled_at),
      lastError: row.last_error,
    });
  }

  /** Applies the events of a block range, records the blocks and moves the cursor, atomically. */
  async apply(
    name: string,
    events: RegistryEvent[],
    blocks: BlockRef[],
    cursor: IndexerCursor,
    head: { number: number; caughtUp: boolean },
  ): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      for (const event of events) await this.applyEvent(m, event);
      if (blocks.length > 0) {
        await m
          .createQueryBuilder()
          .insert()
          .into(IndexedBlockEntity)
          .values(blocks.map((b) => ({ number: b.number, hash: b.hash, parentHash: b.parentHash })))
          .orUpdate(["hash", "parent_hash"], ["number"])
          .execute();
      }
      await this.saveState(m, name, cursor, head);
    });
  }

  /** Records a poll that found nothing new (or failed), for freshness reporting. */
  async touch(name: string, cursor: IndexerCursor, head: { number: number; caughtUp: boolean }, error?: string): Promise<void> {
    await this.saveState(this.dataSource.manager, name, cursor, head, error);
  }

  /** The processed blocks above `floor`, newest first: candidates for the common ancestor. */
  blocksAbove(floor: number): Promise<IndexedBlockEntity[]> {
    return this.dataSource.getRepository(IndexedBlockEntity).find({ where: { number: MoreThan(floor) }, order: { number: "DESC" } });
  }

  /** Undoes everything indexed after block `ancestor` and moves the cursor back to it. */
  async rollbackTo(name: string, ancestor: IndexerCursor): Promise<void> {
    const after = ancestor.blockNumber;
    await this.dataSource.transaction(async (m) => {
      await m.delete(ConsentEntity, { grantedBlock: MoreThan(after) });
      await m.update(ConsentEntity, { revokedBlock: MoreThan(after) }, { revokedAt: null, revokedBlock: null, revokedTx: null });
      await m.delete(RoleEventEntity, { blockNumber: MoreThan(after) });
      await m.delete(IndexedBlockEntity, { number: MoreThan(after) });
      await m.update(
        IndexerStateEntity,
        { name },
        { blockNumber: after, blockHash: ancestor.blockHash, blockTimestamp: ancestor.blockTimestamp, caughtUpAt: null },
      );
    });
  }

  /** Forgets block hashes too deep to be reorganised. */
  async pruneBlocksBelow(number: number): Promise<void> {
    await this.dataSource.getRepository(IndexedBlockEntity).delete({ number: LessThan(number) });
  }

  /** A patient's consents in the chain's grant order — the order `decide` walks them in. */
  consentsOf(patient: string): Promise<ConsentEntity[]> {
    return this.dataSource.getRepository(ConsentEntity).find({
      where: { patient: patient.toLowerCase() },
      order: { grantedBlock: "ASC", grantedLogIndex: "ASC" },
    });
  }

  consentsByGrantee(grantees: string[]): Promise<ConsentEntity[]> {
    return this.dataSource.getRepository(ConsentEntity).find({
      where: { grantee: In(grantees.map((g) => g.toLowerCase())) },
      order: { grantedBlock: "ASC", grantedLogIndex: "ASC" },
    });
  }

  findConsent(consentId: string): Promise<ConsentEntity | null> {
    return this.dataSource.getRepository(ConsentEntity).findOneBy({ consentId: consentId.toLowerCase() });
  }

  /**
   * Whether `account` held `role` at `at` (unix seconds): the last indexed grant or revocation in a block
   * stamped at or before `at` — the instant ConsentRegistry's membership record holds for that change.
   */
  async hadRoleAt(role: string, account: string, at: number): Promise<boolean> {
    const rows: Array<{ granted: boolean }> = await this.dataSource.query(
      `SELECT granted FROM role_events WHERE role = $1 AND account = $2 AND block_timestamp <= $3
        ORDER BY block_number DESC, log_index DESC LIMIT 1`,
      [role.toLowerCase(), account.toLowerCase(), at],
    );
    return rows[0]?.granted ?? false;
  }

  /** The roles (as role hashes) `account` holds per the indexed events. */
  async rolesOf(account: string): Promise<string[]> {
    const rows: Array<{ role: string }> = await this.dataSource.query(
      `SELECT role FROM (
         SELECT DISTINCT ON (role) role, granted FROM role_events
          WHERE account = $1 ORDER BY role, block_number DESC, log_index DESC
       ) latest WHERE granted`,
      [account.toLowerCase()],
    );
    return rows.map((r) => r.role);
  }

  /**
   * Every account the indexed events ever granted `role`, with its latest change: whether it holds the role
   * now (per the projection) and the block and time of that change.
   */
  async latestRoleChanges(role: string): Promise<RoleChange[]> {
    const rows: Array<{ account: string; granted: boolean; block_number: string | number; block_timestamp: string | number }> = await this.dataSource.query(
      `SELECT DISTINCT ON (account) account, granted, block_number, block_timestamp FROM role_events
        WHERE role = $1 ORDER BY account, block_number DESC, log_index DESC`,
      [role.toLowerCase()],
    );
    return rows.map((r) => ({ account: r.account, granted: r.granted, blockNumber: Number(r.block_number), blockTimestamp: Number(r.block_timestamp) }));
  }

  /** The latest indexed grant or revocation of `role` for `account`, if any. */
  async latestRoleChange(role: string, account: string): Promise<RoleChange | undefined> {
    const latest = await this.dataSource.getRepository(RoleEventEntity).findOne({
      where: { role: role.toLowerCase(), account: account.toLowerCase() },
      order: { blockNumber: "DESC", logIndex: "DESC" },
    });
    return latest ? { account: latest.account, granted: latest.granted, blockNumber: latest.blockNumber, blockTimestamp: latest.blockTimestamp } : undefined;
  }

  private async applyEvent(m: EntityManager, e: RegistryEvent): Promise<void> {
    switch (e.kind) {
      case "ConsentGranted":
        await m
          .createQueryBuilder()
          .insert()
          .into(ConsentEntity)
          .values({
            consentId: e.consentId.toLowerCase(),
            patient: e.patient.toLowerCase(),
            grantee: e.grantee.toLowerCase(),
            categories: e.categories,
            purposes: e.purposes,
            effect: e.effect,
            validFrom: e.validFrom,
            validUntil: e.validUntil,
            nonce: e.nonce,
            grantedAt: e.blockTimestamp,
            grantedBlock: e.blockNumber,
            grantedLogIndex: e.logIndex,
            grantedTx: e.txHash,
            revokedAt: null,
            revokedBlock: null,
            revokedTx: null,
          })
          .orIgnore()
          .execute();
        return;
      case "ConsentRevoked":
        await m.update(
          ConsentEntity,
          { consentId: e.consentId.toLowerCase() },
          { revokedAt: e.revokedAt, revokedBlock: e.blockNumber, revokedTx: e.txHash },
        );
        return;
      case "RoleGranted":
      case "RoleRevoked":
        await m
          .createQueryBuilder()
          .insert()
          .into(RoleEventEntity)
          .values({
            blockNumber: e.blockNumber,
            logIndex: e.logIndex,
            role: e.role.toLowerCase(),
            account: e.account.toLowerCase(),
            granted: e.kind === "RoleGranted",
            blockTimestamp: e.blockTimestamp,
          })
          .orIgnore()
          .execute();
        return;
    }
  }

  private async saveState(
    m: EntityManager,
    name: string,
    cursor: IndexerCursor,
    head: { number: number; caughtUp: boolean },
    error?: string,
  ): Promise<void> {
    const now = new Date();
    await m
      .createQueryBuilder()
      .insert()
      .into(IndexerStateEntity)
      .values({
        name,
        blockNumber: cursor.blockNumber,
        blockHash: cursor.blockHash,
        blockTimestamp: cursor.blockTimestamp,
        headNumber: head.number,
        caughtUpAt: head.caughtUp ? now : null,
        polledAt: now,
        lastError: error ?? null,
      })
      .orUpdate(
        head.caughtUp
          ? ["block_number", "block_hash", "block_timestamp", "head_number", "caught_up_at", "polled_at", "last_error"]
          : ["block_number", "block_hash", "block_timestamp", "head_number", "polled_at", "last_error"],
        ["name"],
      )
      .execute();
  }
}
