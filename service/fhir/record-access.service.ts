import { Inject, Injectable } from "@nestjs/common";
import { getAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { hasRole } from "../auth/actor";
import { AccessAction, AccessDecision } from "../audit/access-event";
import { AccessLogService, markRecorded, type AccessRecord, type RequestFacts } from "../audit/access-log.service";
import { DECISION_OF_OUTCOME } from "../audit/decision-codes";
import { ChainService } from "../chain/chain.service";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { badRequest, forbidden, notFound, Problem } from "../common/problem";
import { DecisionService } from "../consent/decision.service";
import { PURPOSES, purposeBit } from "../consent/vocabulary";
import { PatientRepository } from "../patients/patient.repository";
import { categoriesOfType } from "../records/record-category";
import { RecordService } from "../records/record.service";
import type { StoredRecord } from "../records/stored-record";
import { accountFrom } from "./fhir-identity";

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
 * Consent-enforced access to the record store. Every read, search and write — released, refused or
 * invalid — is recorded in the access log before the caller hears the outcome; nothing is released
 * that was not recorded first.
 */
@Injectable()
export class RecordAccessService {
  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly records: RecordService,
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
    private readonly patients: PatientRepository,
    private readonly chain: ChainService,
  ) {}

  async create(actor: Actor, type: string, body: unknown, facts: RequestFacts): Promise<StoredRecord> {
    return this.write(actor, type, undefined, facts, async () => this.records.create(actor.address, type, body));
  }

  async update(actor: Actor, type: string, id: string, body: unknown, ifMatch: number | undefined, facts: RequestFacts) {
    let created = false;
    const record = await this.write(actor, type, id, facts, async () => {
      const result = await this.records.update(actor.address, type, id, body, { ifMatch });
      created = result.created;
      return result.record;
    });
    return { record, created };
  }

  /** `GET /fhir/{type}/{id}`: the latest version, if the caller may see it now. */
  async read(actor: Actor, type: string, id: string, request: ReadRequest): Promise<StoredRecord> {
    const base: Omit<AccessRecord, "decision"> = { actor: actor.address, action: AccessAction.RecordRead, request: request.facts, resourceType: type, resourceId: id };
    let record: StoredRecord | null = null;
    let release: Release;
    try {
      categoriesOfType(type); // unknown types are refused before anything is looked up
      record = await this.records.read(type, id);
      // Absent, or someone else's record as seen by a patient: the same answer, so ids leak nothing.
      if (!record || (!this.isInstitution(actor) && !this.isPatientOf(actor, record))) throw notFound("record-not-found", `No ${type}/${id}`);
      release = sameAccount(record.custodian, actor.address)
        ? { decision: AccessDecision.Self, consentId: null } // a custodian reads what it published
        : (await this.releasesOf(actor, record.patient, [record.category], null, request))[0];
    } catch (error) {
      await this.accessLog.recordRefusal({ ...base, ...this.subject(record), purposes: this.purposeMask(request.purpose) }, error);
      throw error;
    }
    await this.accessLog.record({
      ...base,
      patient: record.patient,
      categories: 1 << record.category,
      purposes: this.purposeMask(request.purpose),
      decision: release.decision,
      consentId: release.consentId,
      justification: release.decision === AccessDecision.BreakGlass ? request.justification : null,
      timeMs: release.timeMs,
    });
    if (!released(release.decision)) throw markRecorded(refused(release.decision));
    return record;
  }

  /**
   * `GET /fhir/{type}?patient=…`: the records the caller may see. Each category the type spans is
   * decided (and recorded) on its own; withheld records are neither returned nor counted.
   */
  async search(actor: Actor, type: string, patientParam: string | undefined, request: ReadRequest): Promise<StoredRecord[]> {
    const base = { actor: actor.address, action: AccessAction.RecordSearch, request: request.facts, resourceType: type, resourceId: null };
    const purposes = this.purposeMask(request.purpose);
    let patient: string | undefined;
    const releases = new Map<number, Release>();
    try {
      const categories = categoriesOfType(type);
      if (!patientParam) throw badRequest("patient-required", "A search needs ?patient= (an account address or did:pkh)");
      patient = accountFrom(patientParam, this.deployment.chainId);
      if (!patient) throw badRequest("invalid-patient", "?patient= must be an account address or a did:pkh on this chain");
      if (!this.isInstitution(actor) && !this.isPatientSelf(actor, patient)) throw forbidden("not-your-data", "Patients may search only their own records");
      const custodian = this.isInstitution(actor) && (await this.patients.find(patient, actor.address)) !== null;
      const bits = categories.map((c) => c.bit);
      const decided = await this.releasesOf(actor, patient, bits, custodian ? actor.address : null, request);
      bits.forEach((bit, i) => releases.set(bit, decided[i]));
    } catch (error) {
      await this.accessLog.recordRefusal({ ...base, patient: patient ?? null, purposes }, error);
      throw error;
    }
    let mask = 0;
    for (const [bit, release] of releases) if (released(release.decision)) mask |= 1 << bit;
    // Own records in categories without consent: a custodian reads what it published, nothing more.
    const ownOnly = [...releases].filter(([, r]) => r.decision === AccessDecision.Self && !this.isPatientSelf(actor, patient!)).map(([bit]) => bit);
    const found = mask === 0 ? [] : await this.records.search(type, patient!, { categories: mask });
    const visible = found.filter((r) => !ownOnly.includes(r.category) || sameAccount(r.custodian, actor.address));
    for (const [bit, release] of releases) {
      await this.accessLog.record({
        ...base,
        patient: patient!,
        categories: 1 << bit,
        purposes,
        decision: release.decision,
        consentId: release.consentId,
        justification: release.decision === AccessDecision.BreakGlass ? request.justification : null,
        timeMs: release.timeMs,
      });
    }
    return visible;
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
      if (!(await this.chain.hasRole("institution", actor.address))) {
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

  private async write(actor: Actor, type: string, id: string | undefined, facts: RequestFacts, store: () => Promise<StoredRecord>): Promise<StoredRecord> {
    const base = { actor: actor.address, action: AccessAction.RecordWrite, request: facts, resourceType: type, resourceId: id ?? null };
    let record: StoredRecord;
    try {
      // Writes are checked on chain, not only against the token's roles (DESIGN §3).
      if (!(await this.chain.hasRole("institution", actor.address))) throw forbidden("role-required", "Only a registered institution can store records");
      record = await store();
    } catch (error) {
      await this.accessLog.recordRefusal(base, error);
      throw error;
    }
    await this.accessLog
      .record({ ...base, resourceId: record.id, patient: record.patient, categories: 1 << record.category, decision: AccessDecision.Recorded })
      .catch((error) => {
        throw markRecorded(error); // the write happened: the filter must not log it as refused
      });
    return record;
  }

  private requirePurpose(code: string | undefined): number {
    if (!code) throw badRequest("purpose-required", "A purpose of use is required", `?purpose= one of ${PURPOSES.map((p) => p.code).join(", ")}`);
    if (!PURPOSES.some((p) => p.code === code)) throw badRequest("unknown-purpose", "Unknown purpose of use", `Known: ${PURPOSES.map((p) => p.code).join(", ")}`);
    return purposeBit(code);
  }

  private purposeMask(code: string | undefined): number {
    return code && PURPOSES.some((p) => p.code === code) ? purposeBit(code) : 0;
  }

  private subject(record: StoredRecord | null) {
    return record ? { patient: record.patient, categories: 1 << record.category } : {};
  }

  private isInstitution(actor: Actor): boolean {
    return hasRole(actor, "institution");
  }

  private isPatientSelf(actor: Actor, patient: string): boolean {
    return getAddress(actor.address) === getAddress(patient);
  }

  private isPatientOf(actor: Actor, record: StoredRecord): boolean {
    return this.isPatientSelf(actor, record.patient);
  }
}

const sameAccount = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

const released = (d: AccessDecision) => d === AccessDecision.Permit || d === AccessDecision.Self || d === AccessDecision.BreakGlass;

function refused(decision: AccessDecision): Problem {
  return decision === AccessDecision.Deny
    ? forbidden("consent-denied", "The patient's consent denies this access")
    : forbidden("consent-required", "No active consent permits this access");
}
