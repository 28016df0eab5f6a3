import { Injectable } from "@nestjs/common";
import { ChainAccounts } from "../domain/fhir-identity";
import { PatientRepository } from "../patients/patient.repository";
import { type PatientClaim, patientClaims } from "./patient-claims";
import { ambiguousPatient, patientNotEnrolled, unknownPatient } from "./record-problems";
import { RecordRepository } from "./record.repository";
import type { FhirResource } from "./resource-validation";

/**
 * Finds the patient a resource belongs to, among the patients enrolled with the custodian storing
 * it: by account (did:pkh), by an identifier the custodian enrolled them with, or by a
 * Patient record the custodian stored. Everything is scoped to that custodian, so a refusal tells it
 * nothing about other institutions' patients.
 */
@Injectable()
export class PatientResolver {
  constructor(
    private readonly accounts: ChainAccounts,
    private readonly patients: PatientRepository,
    private readonly records: RecordRepository,
  ) {}

  /**
   * The patient's address (lower-case), or a 422 Problem. `pending` names the Patient records a
   * transaction stores before this one (id → patient), which `Patient/{id}` may name too.
   */
  async resolve(custodian: string, resource: FhirResource, pending?: ReadonlyMap<string, string>): Promise<string> {
    const { claims, all, path } = patientClaims(resource, this.accounts);
    const found = new Map<string, string>(); // patient → path of the first claim naming them
    for (const claim of claims) {
      const patient = await this.lookup(custodian, claim, pending);
      if (patient === undefined) {
        if (all) throw unknownPatient(claim.path, "names no patient of this custodian");
        continue;
      }
      if (!found.has(patient)) found.set(patient, claim.path);
    }
    if (found.size === 0) throw unknownPatient(path, "no identifier names a patient enrolled with this custodian");
    if (found.size > 1) throw ambiguousPatient(path);
    const [[patient, where]] = found;
    // Identifier and record claims are custodian-scoped already; an account, or a Patient record
    // stored before an enrolment was withdrawn, still needs the enrolment checked now.
    if (!(await this.patients.find(patient, custodian))) throw patientNotEnrolled(where);
    return patient;
  }

  private async lookup(custodian: string, claim: PatientClaim, pending?: ReadonlyMap<string, string>): Promise<string | undefined> {
    if ("account" in claim) return claim.account.toLowerCase();
    if ("identifier" in claim) {
      const holders = await this.patients.findByIdentifier(claim.identifier, custodian);
      // Enrolment refuses an identifier linked to two patients, so more than one is corrupt data: refuse.
      if (holders.length > 1) throw ambiguousPatient(claim.path);
      return holders[0];
    }
    return pending?.get(claim.patientRecordId) ?? (await this.records.patientOf("Patient", claim.patientRecordId, custodian)) ?? undefined;
  }
}
