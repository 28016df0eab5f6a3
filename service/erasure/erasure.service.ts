import { Injectable } from "@nestjs/common";
import { getAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { AccessLogService, type RequestFacts } from "../audit/access-log.service";
import { forbidden } from "../common/problem";
import { AccessAction, AccessDecision } from "../domain/access-codes";
import { PatientRepository } from "../patients/patient.repository";
import { RecordService } from "../records/record.service";

export interface ErasureResult {
  patient: string;
  recordsErased: number;
  erasedAt: string;
}

/**
 * Right to erasure by crypto-shredding (docs/architecture.md, data at rest): the patient's records,
 * data key and links to local identifiers are deleted, and the trail's columns outside the leaf that could
 * name them (resource ids, justifications) are blanked. The anchored fields stay — addresses and hashes —
 * so the trail remains verifiable against the chain.
 */
@Injectable()
export class ErasureService {
  constructor(
    private readonly authority: AuthorityService,
    private readonly records: RecordService,
    private readonly patients: PatientRepository,
    private readonly accessLog: AccessLogService,
  ) {}

  async erase(actor: Actor, patientAddress: string, facts: RequestFacts): Promise<ErasureResult> {
    const patient = getAddress(patientAddress);
    return this.accessLog.audited({ actor: actor.address, patient, action: AccessAction.PatientErase, request: facts }, async () => {
      if (!(await this.authority.heldOnChain("admin", actor.address))) throw forbidden("role-required", "Only an administrator can erase a patient's data");
      const { records: recordsErased } = await this.records.erase(patient);
      await this.patients.deleteAllOf(patient);
      await this.accessLog.forgetIdentifiersOf(patient);
      this.authority.forgetRoles(patient);
      return { value: { patient, recordsErased, erasedAt: new Date().toISOString() }, outcome: { decision: AccessDecision.Recorded } };
    });
  }
}
