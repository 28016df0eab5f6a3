import { Injectable } from "@nestjs/common";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { AccessLogService, refusedBy, type AccessOutcome, type RequestFacts } from "../audit/access-log.service";
import { badRequest, forbidden, notFound, type Problem } from "../common/problem";
import { DecisionService } from "../decisions/decision.service";
import { AccessAction, AccessDecision, DECISION_OF_OUTCOME, isReleasing } from "../domain/access-codes";
import { ChainAccounts } from "../domain/fhir-identity";
import { PURPOSES, purposeBit } from "../domain/vocabulary";
import { PatientRepository } from "../patients/patient.repository";
import { categoriesOfType } from "../records/record-category";
import { RecordService } from "../records/record.service";
import type { StoredRecord } from "../records/stored-record";

const ETREAT = purposeBit("ETREAT");

export interface ReadRequest {
  purpose?: string;
  justification?: string;
  facts: RequestFacts;
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
      if (!subject) throw this.absent(actor, type, id, request);
      attempt.patient = subject.patient;
      attempt.categories = 1 << subject.category;
      // Someone else's record as seen by a patient: the same answer as an absent one.
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, subject.patient)) throw notFound("record-not-found", `No ${type}/${id}`);
      const release = sameAccount(subject.custodian, actor.address)
        ? { decision: AccessDecision.Self, consentId: null } // a custodian reads what it published
        : (await this.releasesOf(actor, subject.patient, [subject.category], null, request))[0];
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
      if (latest) {
        attempt.patient = latest.patient;
        attempt.categories = bits.reduce((mask, bit) => mask | (1 << bit), 0);
      }
      if (!latest) throw this.absent(actor, type, id, request);
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, latest.patient)) throw notFound("record-not-found", `No ${type}/${id}`);
      const releases = sameAccount(latest.custodian, actor.address)
        ? bits.map(() => ({ decision: AccessDecision.Self, consentId: null }))
        : await this.releasesOf(actor, latest.patient, bits, null, request);
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
   * decided (and recorded) on its own; withheld records are neither returned nor counted.
   */
  async search(actor: Actor, type: string, patientParam: string | undefined, request: ReadRequest): Promise<StoredRecord[]> {
    const purposes = this.purposeMask(request.purpose);
    const attempt = { actor: actor.address, action: AccessAction.RecordSearch, request: request.facts, resourceType: type, resourceId: null, purposes };
    return this.accessLog.audited(attempt, async (attempt) => {
      const categories = categoriesOfType(type);
      if (!patientParam) throw badRequest("patient-required", "A search needs ?patient= (an account address or did:pkh)");
      const patient = this.accounts.from(patientParam);
      if (!patient) throw badRequest("invalid-patient", "?patient= must be an account address or a did:pkh on this chain");
      attempt.patient = patient;
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, patient)) throw forbidden("not-your-data", "Patients may search only their own records");
      const custodian = this.isInstitution(actor) && (await this.patients.find(patient, actor.address)) !== null;
      const bits = categories.map((c) => c.bit);
      const releases = await this.releasesOf(actor, patient, bits, custodian ? actor.address : null, request);
      const mask = bits.reduce((m, bit, i) => (isReleasing(releases[i].decision) ? m | (1 << bit) : m), 0);
      // Own records in categories without consent: a custodian reads what it published, nothing more.
      const ownOnly = bits.filter((_, i) => releases[i].decision === AccessDecision.Self && !this.isPatientSelf(actor, patient));
      const found = mask === 0 ? [] : await this.records.search(type, patient, { categories: mask });
      return {
        value: found.filter((r) => !ownOnly.includes(r.category) || sameAccount(r.custodian, actor.address)),
        outcome: bits.map((bit, i) => ({ categories: 1 << bit, ...this.outcomeOf(releases[i], request) })),
      };
    });
  }

  /**
   * What a caller hears for an id that names no record: exactly what it would hear for a record it may not
   * see, so ids tell nothing. A patient hears "not found" for both. An institution hears the purpose
   * problem or the consent refusal it would get for someone else's record (and the trail records a
   * no-consent refusal); only break-glass, which would release an existing record, hears "not found".
   */
  private absent(actor: Actor, type: string, id: string, request: ReadRequest): Problem {
    if (this.isInstitution(actor) && this.requirePurpose(request.purpose) !== ETREAT) {
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
    const purpose = this.requirePurpose(request.purpose);
    if (purpose === ETREAT) {
      if (!request.justification?.trim()) {
        throw badRequest("justification-required", "Break-glass needs a justification", "purpose=ETREAT requires ?justification=");
      }
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
      const { record } = result;
      return {
        value: result,
        outcome: { resourceId: record.id, patient: record.patient, categories: 1 << record.category, decision: AccessDecision.Recorded },
      };
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
