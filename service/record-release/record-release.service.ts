import { Injectable } from "@nestjs/common";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { AccessLogService, refusedBy, type AccessAttempt, type AccessOutcome, type RequestFacts } from "../audit/access-log.service";
import { badRequest, forbidden, notFound, Problem } from "../common/problem";
import { DecisionService } from "../decisions/decision.service";
import { AccessAction, AccessDecision, DECISION_OF_OUTCOME, isReleasing } from "../domain/access-codes";
import { ChainAccounts } from "../domain/fhir-identity";
import { PURPOSES, purposeBit } from "../domain/vocabulary";
import { PatientRepository } from "../patients/patient.repository";
import { parseJsonBody } from "../edge/json-body";
import { categoriesOfType, isDirectory } from "../records/record-category";
import { type PendingWrite, RecordService } from "../records/record.service";
import { isDirectoryOnlyType, mayBeDirectory } from "../records/resource-rules";
import type { Page, StoredRecord } from "../records/stored-record";
import { parseLastUpdated, parsePatientParam } from "./search-params";
import { entryPath, parseTransaction, rewriteReferences, type TransactionEntry } from "./transaction";

const ETREAT = purposeBit("ETREAT");

export interface ReadRequest {
  purpose?: string;
  justification?: string;
  facts: RequestFacts;
}

export interface SearchRequest extends ReadRequest {
  /** `_lastUpdated` values (each with an optional ge/gt/le/lt/eq prefix). */
  lastUpdated?: string | string[];
  page?: Page;
}

export interface SearchResult {
  records: StoredRecord[];
  /** Every match the caller may see, across pages. */
  total: number;
}

/** How one entry of a transaction, or one line of an import, ended. */
export interface WriteOutcome {
  status: number;
  record?: StoredRecord;
  created?: boolean;
  /** The problem that refused it. */
  problem?: Problem;
  /** The resource type the line or entry named, if any. */
  resourceType?: string;
}

/** How one category of a patient's data may be released to the caller. */
interface Release {
  decision: AccessDecision;
  consentId: string | null;
  timeMs?: number;
}

/**
 * The record store behind consent: releases a record only to its patient, its custodian, an institution
 * a consent permits, or break-glass — and records every read, search and write (released, refused or
 * invalid) in the access log before the caller hears the outcome. Nothing is released unrecorded.
 */
@Injectable()
export class RecordReleaseService {
  constructor(
    private readonly accounts: ChainAccounts,
    private readonly records: RecordService,
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
    private readonly patients: PatientRepository,
    private readonly authority: AuthorityService,
  ) {}

  async create(actor: Actor, type: string, body: unknown, facts: RequestFacts): Promise<StoredRecord> {
    return (await this.write(actor, type, undefined, facts, async () => ({ record: await this.records.create(actor.address, type, body), created: true }))).record;
  }

  update(actor: Actor, type: string, id: string, body: unknown, ifMatch: number | undefined, facts: RequestFacts): Promise<{ record: StoredRecord; created: boolean }> {
    return this.write(actor, type, id, facts, () => this.records.update(actor.address, type, id, body, { ifMatch }));
  }

  /** `GET /fhir/{type}/{id}` (the latest version) or `…/_history/{versionId}`, if the caller may see it now. */
  async read(actor: Actor, type: string, id: string, request: ReadRequest, versionId?: number): Promise<StoredRecord> {
    const purposes = this.purposeMask(request.purpose);
    const attempt = { actor: actor.address, action: AccessAction.RecordRead, request: request.facts, resourceType: type, resourceId: id, purposes };
    return this.accessLog.audited(attempt, async (attempt) => {
      categoriesOfType(type); // unknown types are refused before anything is looked up
      const latest = await this.records.read(type, id);
      // A missing version of an existing record is refused as the record would be: version numbers tell nothing either.
      const record = versionId === undefined || !latest ? latest : await this.records.readVersion(type, id, versionId);
      const subject = record ?? latest;
      if (!subject) throw isDirectoryOnlyType(type) ? notFound("record-not-found", `No ${type}/${id}`) : this.absent(actor, type, id, request);
      if (isDirectory(subject.category)) {
        const outcome = this.directoryRelease(actor, subject, type, id);
        if (!record) throw notFound("version-not-found", `${type}/${id} has no version ${versionId}`);
        return { value: record, outcome };
      }
      attempt.patient = subject.patient;
      attempt.categories = 1 << subject.category;
      // Someone else's record as seen by a patient: the same answer as an absent one.
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, subject.patient!)) throw notFound("record-not-found", `No ${type}/${id}`);
      const release = sameAccount(subject.custodian, actor.address)
        ? { decision: AccessDecision.Self, consentId: null } // a custodian reads what it published
        : (await this.releasesOf(actor, subject.patient!, [subject.category], null, request))[0];
      const outcome = this.outcomeOf(release, request);
      if (!isReleasing(release.decision)) throw refusedBy(refused(release.decision), outcome);
      if (!record) throw notFound("version-not-found", `${type}/${id} has no version ${versionId}`);
      return { value: record, outcome };
    });
  }

  /**
   * `GET /fhir/{type}/{id}/_history`: the versions the caller may see now, newest first. A record keeps
   * its patient, but an update may move it to another category, so each category its versions span is
   * decided (and recorded) on its own, as in a search; with none released it is refused like a read.
   */
  async history(actor: Actor, type: string, id: string, request: ReadRequest): Promise<StoredRecord[]> {
    const purposes = this.purposeMask(request.purpose);
    const attempt = { actor: actor.address, action: AccessAction.RecordRead, request: request.facts, resourceType: type, resourceId: id, purposes };
    return this.accessLog.audited(attempt, async (attempt) => {
      categoriesOfType(type);
      const versions = await this.records.history(type, id);
      const latest = versions[0];
      const bits = [...new Set(versions.map((v) => v.category))];
      if (!latest) throw isDirectoryOnlyType(type) ? notFound("record-not-found", `No ${type}/${id}`) : this.absent(actor, type, id, request);
      if (isDirectory(latest.category)) {
        const outcome = this.directoryRelease(actor, latest, type, id);
        return { value: versions.filter((v) => isDirectory(v.category)), outcome };
      }
      const patient = latest.patient!;
      attempt.patient = patient;
      attempt.categories = bits.reduce((mask, bit) => mask | (1 << bit), 0);
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, patient)) throw notFound("record-not-found", `No ${type}/${id}`);
      const releases = sameAccount(latest.custodian, actor.address)
        ? bits.map(() => ({ decision: AccessDecision.Self, consentId: null }))
        : await this.releasesOf(actor, patient, bits, null, request);
      const shown = versions.filter((v) => isReleasing(releases[bits.indexOf(v.category)].decision));
      if (shown.length === 0) {
        const decisive = releases.find((r) => r.decision === AccessDecision.Deny) ?? releases[0];
        throw refusedBy(refused(decisive.decision), this.outcomeOf(decisive, request));
      }
      return { value: shown, outcome: bits.map((bit, i) => ({ categories: 1 << bit, ...this.outcomeOf(releases[i], request) })) };
    });
  }

  /**
   * `GET /fhir/{type}?patient=…`: the records the caller may see. Each category the type spans is
   * decided (and recorded) on its own; withheld records are neither returned nor counted. `patient` is an
   * account (address or did:pkh) or `system|value`, an identifier the patient is enrolled with. Without
   * `patient`, a directory type lists the directory (institutions only; one event).
   */
  async search(actor: Actor, type: string, patientParam: string | undefined, request: SearchRequest): Promise<SearchResult> {
    const purposes = this.purposeMask(request.purpose);
    const attempt = { actor: actor.address, action: AccessAction.RecordSearch, request: request.facts, resourceType: type, resourceId: null, purposes };
    return this.accessLog.audited(attempt, async (attempt) => {
      const categories = categoriesOfType(type);
      const lastUpdated = parseLastUpdated(request.lastUpdated);
      if (!patientParam) {
        if (!mayBeDirectory(type)) throw badRequest("patient-required", "A search needs ?patient= (an account address, a did:pkh, or system|value)");
        if (!this.isInstitution(actor)) throw forbidden("role-required", "Directory data is read by institutions");
        const found = await this.records.searchDirectory(type, { lastUpdated }, request.page);
        return { value: found, outcome: { decision: AccessDecision.Permit, consentId: null } };
      }
      if (isDirectoryOnlyType(type)) throw badRequest("invalid-search", "Invalid search parameter", `${type} is directory data: list it without ?patient=`);
      const named = parsePatientParam(patientParam, this.accounts);
      const patient = "account" in named ? named.account : await this.patientByIdentifier(named.identifier, actor);
      const bits = categories.map((c) => c.bit);
      if (patient === undefined) {
        // No enrolled patient has that identifier (only an institution gets here): what it hears, under the
        // same purpose checks, about a patient who has one and gave it no consent.
        this.purposeOf(request);
        return { value: { records: [], total: 0 }, outcome: bits.map((bit) => ({ categories: 1 << bit, decision: AccessDecision.NoConsent })) };
      }
      attempt.patient = patient;
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, patient)) throw forbidden("not-your-data", "Patients may search only their own records");
      const custodian = this.isInstitution(actor) && (await this.patients.find(patient, actor.address)) !== null;
      const releases = await this.releasesOf(actor, patient, bits, custodian ? actor.address : null, request);
      const mask = bits.reduce((m, bit, i) => (isReleasing(releases[i].decision) ? m | (1 << bit) : m), 0);
      // Own records in categories without consent: a custodian reads what it published, nothing more.
      const ownOnly = bits.filter((_, i) => releases[i].decision === AccessDecision.Self && !this.isPatientSelf(actor, patient));
      const found = mask === 0 ? { records: [], total: 0 } : await this.records.searchPage(type, patient, { categories: mask, lastUpdated, ownOnly: { bits: ownOnly, custodian: actor.address } }, request.page);
      return {
        value: found,
        outcome: bits.map((bit, i) => ({ categories: 1 << bit, ...this.outcomeOf(releases[i], request) })),
      };
    });
  }

  /**
   * `POST /fhir` with a transaction Bundle: every entry stored, or none. Entries' `urn:uuid:` (and other)
   * fullUrls are replaced, wherever a reference names them, by the `Type/id` each entry is stored under;
   * a patient is resolved against the bundle's own Patient entries, then the custodian's records and
   * enrolments. One access event per stored entry (each bound to its own entry by the request hash); a
   * refused transaction stores nothing and is recorded once, naming the entry that failed.
   */
  async transaction(actor: Actor, body: unknown, facts: RequestFacts): Promise<Array<{ entry: TransactionEntry; record: StoredRecord; created: boolean }>> {
    const attempt: AccessAttempt = { actor: actor.address, action: AccessAction.RecordWrite, request: facts, resourceType: "Bundle", resourceId: null };
    return this.accessLog.audited(attempt, async (attempt) => {
      const entries = parseTransaction(body);
      if (!(await this.authority.heldOnChain("institution", actor.address))) throw forbidden("role-required", "Only a registered institution can store records");
      rewriteReferences(entries);
      // A refusal is recorded against the entry that caused it, or against the Bundle.
      const blame = (entry: TransactionEntry | null) =>
        Object.assign(attempt, entry ? { resourceType: entry.type, resourceId: entry.method === "PUT" ? entry.id : null, request: entryFacts(entry) } : { resourceType: "Bundle", resourceId: null, request: facts });
      const writes: PendingWrite[] = [];
      for (const entry of entries) {
        blame(entry);
        try {
          const description = entry.method === "PUT" ? this.records.describeUpdate(entry.type, entry.id, entry.resource) : this.records.describe(entry.type, entry.resource);
          if (entry.method === "PUT") await this.records.assertMayWrite(actor.address, entry.type, entry.id);
          writes.push({ description, id: entry.id, created: entry.method === "POST", options: { ifMatch: entry.ifMatch } });
        } catch (error) {
          throw inEntry(error, entry);
        }
      }
      blame(null);
      // Patient entries first, so the records of the same bundle can name them.
      const order = writes.map((_, i) => i).sort((a, b) => Number(writes[b].description.type === "Patient") - Number(writes[a].description.type === "Patient"));
      let results: Awaited<ReturnType<RecordService["storeAll"]>>;
      try {
        results = await this.records.storeAll(actor.address, order.map((i) => writes[i]));
      } catch (error) {
        const failed = problemEntry(error, entries, order);
        if (failed) {
          blame(failed);
          throw inEntry(error, failed);
        }
        throw error;
      }
      const stored = new Array<{ entry: TransactionEntry; record: StoredRecord; created: boolean }>(entries.length);
      order.forEach((i, k) => (stored[i] = { entry: entries[i], ...results[k] }));
      return {
        value: stored,
        outcome: stored.map(({ entry, record }) => ({ request: entryFacts(entry), ...this.writeOutcome(record) })),
      };
    });
  }

  /**
   * `POST /fhir/$import`: NDJSON, one resource per line, stored in order, each line on its own (a refused
   * line does not stop the others). A line with an id keeps it (update-as-create); one without gets a
   * server id. Each line is one access event, stored or refused. The role is checked on chain once.
   */
  async importNdjson(actor: Actor, text: string, facts: RequestFacts): Promise<WriteOutcome[]> {
    const lines = text.split(/\r?\n/);
    while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
    if (lines.length === 0) throw badRequest("malformed-body", "The body is empty", "One FHIR resource per line is expected");
    // The role, on chain, once per import: a refusal is one event, and no line is tried.
    await this.accessLog.audited(
      { actor: actor.address, action: AccessAction.RecordWrite, request: facts, resourceType: null, resourceId: null },
      async () => {
        if (!(await this.authority.heldOnChain("institution", actor.address))) throw forbidden("role-required", "Only a registered institution can store records");
        return { value: true, outcome: [] };
      },
    );
    const out: WriteOutcome[] = [];
    for (const [i, line] of lines.entries()) {
      const lineFacts: RequestFacts = { method: "POST", path: `${facts.path}#${i + 1}`, body: line };
      let resourceType: string | undefined;
      try {
        const result = await this.accessLog.audited({ actor: actor.address, action: AccessAction.RecordWrite, request: lineFacts, resourceType: null, resourceId: null }, async (attempt) => {
          if (line.trim() === "") throw badRequest("malformed-body", "Empty line", "Each line must hold one FHIR resource");
          const resource = parseJsonBody(line) as { resourceType?: unknown; id?: unknown };
          if (typeof resource?.resourceType !== "string") throw badRequest("invalid-resource", "Invalid resource", "resourceType: is required", { path: "resourceType" });
          resourceType = attempt.resourceType = resource.resourceType;
          const id = typeof resource.id === "string" ? resource.id : undefined;
          attempt.resourceId = id ?? null;
          const done = id !== undefined
            ? await this.records.update(actor.address, resource.resourceType, id, resource)
            : { record: await this.records.create(actor.address, resource.resourceType, resource), created: true };
          return { value: done, outcome: this.writeOutcome(done.record) };
        });
        out.push({ status: result.created ? 201 : 200, record: result.record, created: result.created, resourceType });
      } catch (error) {
        if (!(error instanceof Problem) || error.statusCode >= 500) throw error; // the service cannot go on: nothing further is tried
        out.push({ status: error.statusCode, problem: error, resourceType });
      }
    }
    return out;
  }

  /**
   * The enrolled patient an identifier names. A caller who is not an institution may only name itself: any
   * other answer (no one, someone else, several) is the same 403, so an identifier cannot be probed.
   */
  private async patientByIdentifier(identifier: { system: string; value: string }, actor: Actor): Promise<string | undefined> {
    const holders = await this.patients.findByIdentifier(identifier);
    if (!this.isInstitution(actor)) {
      const self = holders.find((holder) => this.isPatientSelf(actor, holder));
      if (self === undefined) throw forbidden("not-your-data", "Patients may search only their own records");
      return self;
    }
    if (holders.length > 1) throw badRequest("ambiguous-patient", "Ambiguous patient", "That identifier names several enrolled patients; search by account instead");
    return holders[0];
  }

  /** Directory data: its custodian reads it as its own, any institution without a consent; patients do not see it. */
  private directoryRelease(actor: Actor, record: StoredRecord, type: string, id: string): AccessOutcome {
    if (sameAccount(record.custodian, actor.address)) return { decision: AccessDecision.Self, consentId: null };
    if (this.isInstitution(actor)) return { decision: AccessDecision.Permit, consentId: null };
    throw notFound("record-not-found", `No ${type}/${id}`);
  }

  private writeOutcome(record: StoredRecord): AccessOutcome {
    return {
      resourceType: record.type,
      resourceId: record.id,
      patient: record.patient,
      categories: isDirectory(record.category) ? 0 : 1 << record.category,
      decision: AccessDecision.Recorded,
    };
  }

  /**
   * What a caller hears for an id that names no record: exactly what it would hear for a record it may not
   * see, so ids tell nothing. A patient hears "not found" for both. An institution hears the purpose
   * problem or the consent refusal it would get for someone else's record (and the trail records a
   * no-consent refusal); only break-glass, which would release an existing record, hears "not found".
   */
  private absent(actor: Actor, type: string, id: string, request: ReadRequest): Problem {
    if (this.isInstitution(actor) && this.purposeOf(request) !== ETREAT) {
      return refusedBy(refused(AccessDecision.NoConsent), { decision: AccessDecision.NoConsent });
    }
    return notFound("record-not-found", `No ${type}/${id}`);
  }

  /**
   * The basis for releasing each of `categories` of `patient`'s data to the caller: the patient themself,
   * the custodian's own records, break-glass with a justification, or the consent decision — decided
   * together, from one read of the consent state at one access time.
   */
  private async releasesOf(actor: Actor, patient: string, categories: number[], custodian: string | null, request: ReadRequest): Promise<Release[]> {
    const all = (release: Release) => categories.map(() => release);
    if (this.isPatientSelf(actor, patient)) return all({ decision: AccessDecision.Self, consentId: null });
    if (!this.isInstitution(actor)) throw notFound("record-not-found", "No such record");
    const purpose = this.purposeOf(request);
    if (purpose === ETREAT) {
      // No consent gates break-glass, so the role itself must hold on chain now (503 if it cannot be read).
      if (!(await this.authority.heldOnChain("institution", actor.address))) {
        throw forbidden("role-required", "Break-glass is reserved to registered institutions");
      }
      return all({ decision: AccessDecision.BreakGlass, consentId: null });
    }
    const results = await this.decisions.decideEach({ patient, requester: actor.address, categories: categories.map((bit) => 1 << bit), purposes: purpose });
    return results.map((result) =>
      result.outcome !== "permit" && custodian && sameAccount(custodian, actor.address)
        ? { decision: AccessDecision.Self, consentId: null, timeMs: result.timeMs }
        : { decision: DECISION_OF_OUTCOME[result.outcome], consentId: result.consentId, timeMs: result.timeMs },
    );
  }

  private async write<T extends { record: StoredRecord }>(actor: Actor, type: string, id: string | undefined, facts: RequestFacts, store: () => Promise<T>): Promise<T> {
    const attempt = { actor: actor.address, action: AccessAction.RecordWrite, request: facts, resourceType: type, resourceId: id ?? null };
    return this.accessLog.audited(attempt, async () => {
      // Writes are checked on chain, not only against the token's roles.
      if (!(await this.authority.heldOnChain("institution", actor.address))) throw forbidden("role-required", "Only a registered institution can store records");
      const result = await store();
      return { value: result, outcome: this.writeOutcome(result.record) };
    });
  }

  private outcomeOf(release: Release, request: ReadRequest): AccessOutcome {
    return {
      decision: release.decision,
      consentId: release.consentId,
      justification: release.decision === AccessDecision.BreakGlass ? request.justification : null,
      timeMs: release.timeMs,
    };
  }

  /** The purpose an institution asks under, and break-glass's justification. */
  private purposeOf(request: ReadRequest): number {
    const purpose = this.requirePurpose(request.purpose);
    if (purpose === ETREAT && !request.justification?.trim()) {
      throw badRequest("justification-required", "Break-glass needs a justification", "purpose=ETREAT requires ?justification=");
    }
    return purpose;
  }

  private requirePurpose(code: string | undefined): number {
    if (!code) throw badRequest("purpose-required", "A purpose of use is required", `?purpose= one of ${PURPOSES.map((p) => p.code).join(", ")}`);
    if (!PURPOSES.some((p) => p.code === code)) throw badRequest("unknown-purpose", "Unknown purpose of use", `Known: ${PURPOSES.map((p) => p.code).join(", ")}`);
    return purposeBit(code);
  }

  private purposeMask(code: string | undefined): number {
    return code && PURPOSES.some((p) => p.code === code) ? purposeBit(code) : 0;
  }

  /** What the token claims: reads are gated by consent, which the projection decides, not by the role itself. */
  private isInstitution(actor: Actor): boolean {
    return this.authority.actorHolds(actor, "institution");
  }

  private isPatientSelf(actor: Actor, patient: string): boolean {
    return actor.address.toLowerCase() === patient.toLowerCase();
  }
}

const sameAccount = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function refused(decision: AccessDecision): Problem {
  return decision === AccessDecision.Deny
    ? forbidden("consent-denied", "The patient's consent denies this access")
    : forbidden("consent-required", "No active consent permits this access");
}

/** What an entry of a transaction is, as its own request: bound into its event's request hash. */
function entryFacts(entry: TransactionEntry): RequestFacts {
  return { method: entry.method, path: `/fhir/${entry.method === "PUT" ? `${entry.type}/${entry.id}` : entry.type}`, body: entry.resource };
}

/** The entry a problem raised while storing the bundle is about, from the path it names. */
function problemEntry(error: unknown, entries: TransactionEntry[], order: number[]): TransactionEntry | undefined {
  if (!(error instanceof Problem)) return undefined;
  const index = (error as Problem & { entryIndex?: number }).entryIndex;
  if (index !== undefined) return entries[order[index]];
  const path = typeof error.extensions.path === "string" ? error.extensions.path : undefined;
  const type = path?.split(".")[0];
  return type ? entries.find((e) => e.type === type) : undefined;
}

/** A problem of one entry, its paths placed in the Bundle (`Bundle.entry[3].resource.Observation.code`). */
function inEntry(error: unknown, entry: TransactionEntry): unknown {
  if (!(error instanceof Problem)) return error;
  const prefix = entryPath(entry);
  const ext = error.extensions;
  const issues = Array.isArray(ext.issues)
    ? (ext.issues as Array<{ expression?: string[] }>).map((i) => ({ ...i, expression: (i.expression ?? []).map((e) => `${prefix}.${e}`) }))
    : undefined;
  const path = typeof ext.path === "string" ? `${prefix}.${ext.path}` : prefix;
  return new Problem(error.statusCode, error.slug, error.title, `${prefix}: ${error.detail ?? error.title}`, { ...ext, path, entry: entry.index, ...(issues ? { issues } : {}) });
}
