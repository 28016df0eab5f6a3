import { Injectable } from "@nestjs/common";
import { DataSource, type EntityManager, type SelectQueryBuilder } from "typeorm";
import { prepared } from "../database/prepared";
import { RecordEntity, RecordKeyEntity, RecordVersionEntity } from "./record.entities";
import type { LastUpdatedRange } from "./stored-record";

export type WrappedKey = Pick<RecordKeyEntity, "wrappedKey" | "keyVersion">;
export type NewHead = Omit<RecordEntity, "versionId">;

/**
 * The writes of one record version, all on one transaction's EntityManager. Callers do their
 * crypto between these calls but must not touch the database any other way meanwhile: on PGlite
 * the transaction holds the only session, so any other query would wait for it forever.
 */
export class RecordWriter {
  constructor(private readonly em: EntityManager) {}

  /** The patient's data key, stored as `candidate` if the patient has none yet (race-free across instances). */
  async ensureDataKey(patient: string, candidate: WrappedKey): Promise<RecordKeyEntity> {
    await this.em
      .createQueryBuilder()
      .insert()
      .into(RecordKeyEntity)
      .values({ patient, ...candidate, createdAt: new Date() })
      .orIgnore()
      .execute();
    return this.em.getRepository(RecordKeyEntity).findOneByOrFail({ patient });
  }

  /**
   * Locks the record's head row for this transaction, inserting it first (at version 0) if the
   * record is new. Concurrent writers of the same record queue here, so versions stay gapless.
   */
  async claimHead(head: NewHead): Promise<RecordEntity> {
    await this.em
      .createQueryBuilder()
      .insert()
      .into(RecordEntity)
      .values({ ...head, versionId: 0 })
      .orIgnore()
      .execute();
    return this.em.getRepository(RecordEntity).findOneOrFail({
      where: { resourceType: head.resourceType, id: head.id },
      lock: { mode: "pessimistic_write" },
    });
  }

  /** Stores a version and makes it the record's latest. */
  async append(version: RecordVersionEntity): Promise<void> {
    await this.em.getRepository(RecordVersionEntity).insert(version);
    await this.em
      .getRepository(RecordEntity)
      .update(
        { resourceType: version.resourceType, id: version.id },
        { versionId: version.versionId, category: version.category, lastUpdated: version.lastUpdated },
      );
  }
}

const LATEST_WITH_KEY = prepared(
  "record_latest_with_key",
  `SELECT v.resource_type, v.id, v.version_id, v.patient, v.custodian, v.category, v.last_updated, v.iv, v.auth_tag, v.ciphertext, k.wrapped_key, k.key_version
     FROM records r JOIN record_versions v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
     LEFT JOIN record_keys k ON k.patient = v.patient
    WHERE r.resource_type = $1 AND r.id = $2`,
);

/** Joins a version to its record's head when it is the latest. */
const CURRENT = "r.resourceType = v.resourceType AND r.id = v.id AND r.versionId = v.versionId";

/** All SQL of the records store. Addresses are stored lower-case. */
@Injectable()
export class RecordRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction. */
  write<T>(work: (writer: RecordWriter) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((em) => work(new RecordWriter(em)));
  }

  private get versions() {
    return this.dataSource.getRepository(RecordVersionEntity);
  }

  /**
   * The latest version of a record and its patient's wrapped data key, in one round trip: plain SQL, as this
   * runs for every read (the query builder cost more than the query, and the key was a second query).
   * The key is null once the patient is erased (their rows go in the same transaction as the key).
   */
  async latestWithKey(resourceType: string, id: string): Promise<{ version: RecordVersionEntity; key: WrappedKey | null } | null> {
    const rows: Array<RawVersion & { wrapped_key: Buffer | null; key_version: number | null }> = await this.dataSource.query(
      LATEST_WITH_KEY,
      [resourceType, id],
    );
    const row = rows[0];
    if (!row) return null;
    return { version: fromRaw(row), key: row.wrapped_key ? { wrappedKey: row.wrapped_key, keyVersion: Number(row.key_version) } : null };
  }

  version(resourceType: string, id: string, versionId: number): Promise<RecordVersionEntity | null> {
    return this.versions.findOneBy({ resourceType, id, versionId });
  }

  /** Every version of a record, newest first. */
  /** The version numbers and times of the records named, without their content (no ciphertext is read). */
  versionStamps(records: ReadonlyArray<{ resourceType: string; id: string }>): Promise<Array<Pick<RecordVersionEntity, "resourceType" | "id" | "versionId" | "lastUpdated">>> {
    if (records.length === 0) return Promise.resolve([]);
    return this.versions.find({
      select: { resourceType: true, id: true, versionId: true, lastUpdated: true },
      where: records.map(({ resourceType, id }) => ({ resourceType, id })),
    });
  }

  history(resourceType: string, id: string): Promise<RecordVersionEntity[]> {
    return this.versions.find({ where: { resourceType, id }, order: { versionId: "DESC" } });
  }

  /** The latest version of each of the patient's records of a type, in the given categories (all when omitted). */
  async latestOfPatient(resourceType: string, patient: string, categories?: number[], lastUpdated?: LastUpdatedRange): Promise<RecordVersionEntity[]> {
    if (categories?.length === 0) return [];
    const query = this.versions
      .createQueryBuilder("v")
      .innerJoin(RecordEntity, "r", CURRENT)
      .where("r.resourceType = :resourceType AND r.patient = :patient", { resourceType, patient: patient.toLowerCase() })
      .orderBy("v.lastUpdated", "DESC")
      .addOrderBy("v.id", "ASC");
    if (categories) query.andWhere("r.category IN (:...categories)", { categories });
    within(query, lastUpdated);
    return query.getMany();
  }

  /** The latest version of every record of a type in one category (directory data: every custodian's). */
  async latestOfCategory(resourceType: string, category: number, lastUpdated?: LastUpdatedRange): Promise<RecordVersionEntity[]> {
    const query = this.versions
      .createQueryBuilder("v")
      .innerJoin(RecordEntity, "r", CURRENT)
      .where("r.resourceType = :resourceType AND r.category = :category", { resourceType, category })
      .orderBy("v.lastUpdated", "DESC")
      .addOrderBy("v.id", "ASC");
    within(query, lastUpdated);
    return query.getMany();
  }

  /** Whose record `resourceType/id` is, if `custodian` stored it. */
  async patientOf(resourceType: string, id: string, custodian: string): Promise<string | null> {
    const head = await this.dataSource
      .getRepository(RecordEntity)
      .findOne({ where: { resourceType, id, custodian: custodian.toLowerCase() }, select: { patient: true } });
    return head?.patient ?? null;
  }

  /** Who stored `resourceType/id`, if it exists. */
  async custodianOf(resourceType: string, id: string): Promise<string | null> {
    const head = await this.dataSource.getRepository(RecordEntity).findOne({ where: { resourceType, id }, select: { custodian: true } });
    return head?.custodian ?? null;
  }

  /** The patient's data key, stored as `candidate` if the patient has none yet. */
  ensureDataKey(patient: string, candidate: WrappedKey): Promise<RecordKeyEntity> {
    return this.dataSource.transaction((em) => new RecordWriter(em).ensureDataKey(patient.toLowerCase(), candidate));
  }

  async dataKey(patient: string): Promise<WrappedKey | null> {
    const rows: Array<{ wrapped_key: Buffer; key_version: number }> = await this.dataSource.query(
      `SELECT wrapped_key, key_version FROM record_keys WHERE patient = $1`,
      [patient.toLowerCase()],
    );
    return rows[0] ? { wrappedKey: rows[0].wrapped_key, keyVersion: Number(rows[0].key_version) } : null;
  }

  /** Crypto-shredding: every version, every head and the data key of the patient, atomically. Returns the records removed. */
  erase(patient: string): Promise<number> {
    const who = patient.toLowerCase();
    return this.dataSource.transaction(async (em) => {
      await em.getRepository(RecordVersionEntity).delete({ patient: who });
      const { affected } = await em.getRepository(RecordEntity).delete({ patient: who });
      await em.getRepository(RecordKeyEntity).delete({ patient: who });
      return affected ?? 0;
    });
  }
}

function within(query: SelectQueryBuilder<RecordVersionEntity>, range: LastUpdatedRange | undefined): void {
  if (range?.from) query.andWhere("v.lastUpdated >= :from", { from: range.from });
  if (range?.before) query.andWhere("v.lastUpdated < :before", { before: range.before });
}

interface RawVersion {
  resource_type: string;
  id: string;
  version_id: number;
  patient: string;
  custodian: string;
  category: number;
  last_updated: Date;
  iv: Buffer;
  auth_tag: Buffer;
  ciphertext: Buffer;
}

function fromRaw(r: RawVersion): RecordVersionEntity {
  return Object.assign(new RecordVersionEntity(), {
    resourceType: r.resource_type,
    id: r.id,
    versionId: Number(r.version_id),
    patient: r.patient,
    custodian: r.custodian,
    category: Number(r.category),
    lastUpdated: new Date(r.last_updated),
    iv: r.iv,
    authTag: r.auth_tag,
    ciphertext: r.ciphertext,
  });
}
