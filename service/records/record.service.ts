import { Injectable } from "@nestjs/common";
import { isAddress } from "ethers";
import { checksummed } from "../domain/checksum";
import { randomUUID } from "node:crypto";
import { badRequest } from "../common/problem";
import { associatedData, IntegrityError, seal } from "./crypto/aes-gcm";
import { KeyRing } from "./crypto/key-ring";
import { openRecord, sealRecord } from "./crypto/record-sealer";
import { PatientResolver } from "./patient-resolver";
import { categoriesOfType, categoryOf, DIRECTORY_BIT, isDirectory } from "./record-category";
import { invalidResource, patientMismatch, unsupportedResourceType, versionConflict, wrongCustodian } from "./record-problems";
import type { RecordVersionEntity } from "./record.entities";
import { RecordRepository, type RecordWriter } from "./record.repository";
import { isSupportedResourceType, mayBeDirectory, RESOURCE_RULES } from "./resource-rules";
import { FHIR_ID, validateResource } from "./resource-validation";
import type { LastUpdatedRange, Page, RecordDescription, StoredRecord, UpdateOptions, UpdateResult } from "./stored-record";

/** Whose key seals a custodian's directory records: not an account, so no patient's erasure can reach it. */
export const directoryOwner = (custodian: string) => `directory:${custodian.toLowerCase()}`;

/** One record of a transaction, validated and ready to store. */
export interface PendingWrite {
  description: RecordDescription;
  id: string;
  /** A server-assigned id (create) rather than the client's (update-as-create). */
  created: boolean;
  options?: UpdateOptions;
}

interface Prepared extends PendingWrite {
  patient: string;
  candidateKey: ReturnType<KeyRing["newDataKey"]>;
}

/**
 * The encrypted FHIR record store (docs/architecture.md §7). It classifies, validates, resolves the patient and
 * versions records; it does not check consent or log accesses — the HTTP layer does both around it.
 */
@Injectable()
export class RecordService {
  constructor(
    private readonly records: RecordRepository,
    private readonly keys: KeyRing,
    private readonly patients: PatientResolver,
  ) {}

  /** Validates `body` as a `type` resource and classifies it. Pure: no database, no side effects. */
  describe(type: string, body: unknown): RecordDescription {
    const resource = validateResource(type, body);
    return { type, category: categoryOf(resource), resource };
  }

  /** Stores a new record under a server-assigned id (any id in the body is ignored, as FHIR create requires). */
  async create(custodian: string, type: string, body: unknown): Promise<StoredRecord> {
    return (await this.store(custodian, this.describe(type, body), randomUUID(), {})).record;
  }

  /**
   * Stores a new version of `type/id`. Only the custodian that created the record may update it, and
   * the record stays with its patient. An id that does not exist yet is created (FHIR update-as-create),
   * so a custodian can keep its own ids — Synthea's `Patient/<id>` references resolve that way.
   */
  async update(custodian: string, type: string, id: string, body: unknown, options: UpdateOptions = {}): Promise<UpdateResult> {
    const description = this.describeUpdate(type, id, body);
    await this.assertMayWrite(custodian, type, id);
    return this.store(custodian, description, id, options);
  }

  /** `describe` for an update of `type/id`: the body must carry the URL's id (R4 RESTful API §3.1.0.4). */
  describeUpdate(type: string, id: string, body: unknown): RecordDescription {
    const description = this.describe(type, body);
    if (!FHIR_ID.test(id)) throw invalidResource(`${type}.id`, "the id in the URL is not a valid FHIR id");
    if (description.resource.id !== id) throw invalidResource(`${type}.id`, `must equal the id in the URL (${id})`);
    return description;
  }

  /**
   * Ownership first, so another custodian hears "not yours" rather than about its own patient lookup;
   * the write checks it again under the row lock.
   */
  async assertMayWrite(custodian: string, type: string, id: string): Promise<void> {
    const owner = await this.records.custodianOf(type, id);
    if (owner !== null && owner !== addressOf(custodian)) throw wrongCustodian();
  }

  /**
   * Stores every write of a transaction, all or nothing: patients are resolved first (a `Patient/{id}` may
   * name a Patient stored earlier in the same transaction), then every version is written in one database
   * transaction. Results are in the order given.
   */
  async storeAll(custodian: string, writes: PendingWrite[]): Promise<UpdateResult[]> {
    const owner = addressOf(custodian);
    const pending = new Map<string, string>();
    const prepared: Prepared[] = [];
    for (const [i, write] of writes.entries()) {
      const one = await this.prepare(owner, write, pending).catch((error) => Promise.reject(tagEntry(error, i)));
      if (write.description.type === "Patient") pending.set(write.id, one.patient);
      prepared.push(one);
    }
    return this.records.write(async (tx) => {
      const out: UpdateResult[] = [];
      for (const [i, one] of prepared.entries()) out.push(await this.writeVersion(tx, owner, one).catch((error) => Promise.reject(tagEntry(error, i))));
      return out;
    });
  }

  /** The latest version, or null. */
  async read(type: string, id: string): Promise<StoredRecord | null> {
    assertType(type);
    const found = await this.records.latestWithKey(type, id);
    // No key: the patient's data key is shredded, so the record cannot be opened by anyone.
    return found?.key ? this.open(this.keys.unwrap(found.version.patient, found.key), found.version) : null;
  }

  /** A given version (FHIR vread), or null. */
  async readVersion(type: string, id: string, versionId: number): Promise<StoredRecord | null> {
    assertType(type);
    if (!Number.isSafeInteger(versionId) || versionId < 1) return null;
    const row = await this.records.version(type, id, versionId);
    return row ? this.decrypt(row) : null;
  }

  /** Every version, newest first ([] if there is no such record). */
  /** Every version's number and time of the records named, nothing of their content: no data key is unwrapped. */
  versionStamps(records: ReadonlyArray<{ resourceType: string; id: string }>): Promise<Array<{ resourceType: string; id: string; versionId: number; lastUpdated: Date }>> {
    return this.records.versionStamps(records);
  }

  async history(type: string, id: string): Promise<StoredRecord[]> {
    assertType(type);
    return this.decryptAll(await this.records.history(type, id));
  }

  /**
   * The latest version of each of the patient's `type` records, newest first. With `categories` (a
   * docs/architecture.md §4 bitmask), records outside it are neither loaded nor decrypted.
   */
  async search(type: string, patient: string, options: { categories?: number } = {}): Promise<StoredRecord[]> {
    return (await this.searchPage(type, patient, options)).records;
  }

  /** `search`, narrowed by `_lastUpdated`, a page of it, and how many match in all. */
  async searchPage(
    type: string,
    patient: string,
    options: { categories?: number; lastUpdated?: LastUpdatedRange; ownOnly?: { bits: number[]; custodian: string } } = {},
    page: Page = {},
  ): Promise<{ records: StoredRecord[]; total: number }> {
    const bits = categoriesOfType(type).map((c) => c.bit);
    const wanted = options.categories === undefined ? undefined : bits.filter((bit) => options.categories! & (1 << bit));
    let rows = await this.records.latestOfPatient(type, addressOf(patient), wanted, options.lastUpdated);
    // Categories released only as the custodian's own records: the others' records there are not counted either.
    const own = options.ownOnly;
    if (own && own.bits.length > 0) rows = rows.filter((r) => !own.bits.includes(r.category) || r.custodian === own.custodian.toLowerCase());
    return { records: await this.decryptAll(pageOf(rows, page)), total: rows.length };
  }

  /** Directory records of a type, every custodian's, newest first. */
  async searchDirectory(type: string, options: { lastUpdated?: LastUpdatedRange } = {}, page: Page = {}): Promise<{ records: StoredRecord[]; total: number }> {
    if (!mayBeDirectory(type)) throw unsupportedResourceType(type);
    const rows = await this.records.latestOfCategory(type, DIRECTORY_BIT, options.lastUpdated);
    return { records: await this.decryptAll(pageOf(rows, page)), total: rows.length };
  }

  /**
   * Seals other personal data of a patient (their enrolment identifiers) under the same data key as their
   * records, so erasure shreds it with them. `purpose` is bound as associated data.
   */
  async sealForPatient(patient: string, purpose: string, plaintext: Buffer): Promise<Buffer> {
    const owner = addressOf(patient);
    const wrapped = await this.records.ensureDataKey(owner, this.keys.newDataKey(owner));
    const sealed = seal(this.keys.unwrap(owner, wrapped), plaintext, associatedData(`consentry:${purpose}:v1`, owner));
    return Buffer.concat([sealed.iv, sealed.authTag, sealed.ciphertext]);
  }

  /**
   * Crypto-shredding (docs/architecture.md §7): deletes every record and version of the patient and their data key,
   * in one transaction. The patient's enrolments are the patients module's to delete.
   */
  async erase(patient: string): Promise<{ records: number }> {
    return { records: await this.records.erase(addressOf(patient)) };
  }

  private async store(custodian: string, description: RecordDescription, id: string, options: UpdateOptions): Promise<UpdateResult> {
    const owner = addressOf(custodian);
    // Lookups first: inside the transaction only its own EntityManager may be used (PGlite has one session).
    const prepared = await this.prepare(owner, { description, id, created: false, options });
    return this.records.write((tx) => this.writeVersion(tx, owner, prepared));
  }

  /** The patient a write is for (or the custodian's directory), and a data key to use if they have none yet. */
  private async prepare(owner: string, write: PendingWrite, pending?: ReadonlyMap<string, string>): Promise<Prepared> {
    const { category, resource } = write.description;
    const patient = isDirectory(category) ? directoryOwner(owner) : await this.patients.resolve(owner, resource, pending);
    return { ...write, patient, candidateKey: this.keys.newDataKey(patient) };
  }

  private async writeVersion(tx: RecordWriter, owner: string, { description, id, options = {}, patient, candidateKey }: Prepared): Promise<UpdateResult> {
    const { type, resource, category } = description;
    const wrapped = await tx.ensureDataKey(patient, candidateKey);
    const dataKey = this.keys.unwrap(patient, wrapped);
    const now = new Date();
    const head = await tx.claimHead({ resourceType: type, id, patient, custodian: owner, category: category.bit, lastUpdated: now });
    if (head.custodian !== owner) throw wrongCustodian();
    if (head.patient !== patient) throw patientMismatch(`${type}.${Object.hasOwn(RESOURCE_RULES, type) ? (RESOURCE_RULES[type].patient?.join(".") ?? "identifier") : "id"}`);
    if (options.ifMatch !== undefined && head.versionId !== options.ifMatch) throw versionConflict(options.ifMatch, head.versionId);
    const versionId = head.versionId + 1;
    // Never older than the version it replaces, even if this instance's clock is behind another's.
    const lastUpdated = head.versionId === 0 ? now : new Date(Math.max(now.getTime(), head.lastUpdated.getTime() + 1));
    const { resourceType: _type, id: _id, meta, ...rest } = resource;
    const stored = {
      resourceType: type,
      id,
      meta: { ...(meta as object | undefined), versionId: String(versionId), lastUpdated: lastUpdated.toISOString() },
      ...rest,
    };
    const identity = { resourceType: type, id, versionId, patient };
    const version = { ...identity, custodian: owner, category: category.bit, lastUpdated, ...sealRecord(dataKey, identity, stored) };
    await tx.append(version);
    return { record: toStored(version, stored), created: versionId === 1 };
  }

  private async decryptAll(rows: RecordVersionEntity[]): Promise<StoredRecord[]> {
    if (rows.length === 0) return [];
    const out: StoredRecord[] = [];
    const keys = new Map<string, Buffer | null>();
    for (const row of rows) {
      if (!keys.has(row.patient)) keys.set(row.patient, await this.dataKeyOf(row.patient));
      const key = keys.get(row.patient);
      if (key) out.push(this.open(key, row));
    }
    return out;
  }

  private async decrypt(row: RecordVersionEntity): Promise<StoredRecord | null> {
    const key = await this.dataKeyOf(row.patient);
    // No key: the patient was erased between the two reads. Their records are gone.
    return key ? this.open(key, row) : null;
  }

  private async dataKeyOf(patient: string): Promise<Buffer | null> {
    const wrapped = await this.records.dataKey(patient);
    return wrapped ? this.keys.unwrap(patient, wrapped) : null;
  }

  private open(key: Buffer, row: RecordVersionEntity): StoredRecord {
    const resource = openRecord(key, row, row);
    return toStored(row, resource);
  }
}

function toStored(row: Omit<RecordVersionEntity, "iv" | "authTag" | "ciphertext">, resource: Record<string, unknown>): StoredRecord {
  return {
    type: row.resourceType,
    id: row.id,
    versionId: row.versionId,
    lastUpdated: row.lastUpdated.toISOString(),
    patient: isDirectory(row.category) ? null : checksummed(row.patient),
    custodian: checksummed(row.custodian),
    category: row.category,
    resource: resource as StoredRecord["resource"],
  };
}

/** Marks which write of a transaction an error is about (`entryIndex`, in the order given to storeAll). */
function tagEntry(error: unknown, index: number): unknown {
  if (error && typeof error === "object") Object.assign(error, { entryIndex: index });
  return error;
}

function pageOf<T>(rows: T[], { offset = 0, count }: Page): T[] {
  return rows.slice(offset, count === undefined ? undefined : offset + count);
}

function assertType(type: string): void {
  if (!isSupportedResourceType(type)) throw unsupportedResourceType(type);
}

function addressOf(account: string): string {
  if (!isAddress(account)) throw badRequest("invalid-address", "Invalid address", `${account} is not an account address`);
  return account.toLowerCase();
}

export { IntegrityError as RecordIntegrityError };
