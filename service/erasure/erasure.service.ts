import { Injectable } from "@nestjs/common";
import { getAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { AccessAction, AccessDecision } from "../audit/access-event";
import { AccessLogService, markRecorded, type RequestFacts } from "../audit/access-log.service";
import { ChainService } from "../chain/chain.service";
import { forbidden } from "../common/problem";
import { PatientRepository } from "../patients/patient.repository";
import { RecordService } from "../records/record.service";

export interface ErasureResult {
  patient: string;
  recordsErased: number;
  erasedAt: string;
}

/**
 * Right to erasure by crypto-shredding (DESIGN §7): the patient's records, data key and links to local
 * identifiers are deleted. The access trail stays — it holds only addresses and hashes — so it remains
 * verifiable against the chain.
 */
@Injectable()
export class ErasureService {
  constructor(
    private readonly chain: ChainService,
    private readonly records: RecordService,
    private readonly patients: PatientRepository,
    private readonly accessLog: AccessLogService,
  ) {}

  async erase(actor: Actor, patientAddress: string, facts: RequestFacts): Promise<ErasureResult> {
    const patient = getAddress(patientAddress);
    const base = { actor: actor.address, patient, action: AccessAction.PatientErase, request: facts };
    let recordsErased: number;
    try {
      if (!(await this.chain.hasRole("admin", actor.address))) throw forbidden("role-required", "Only an administrator can erase a patient's data");
      ({ records: recordsErased } = await this.records.erase(patient));
      await this.patients.deleteAllOf(patient);
    } catch (error) {
      await this.accessLog.recordRefusal(base, error);
      throw error;
    }
    await this.accessLog.record({ ...base, decision: AccessDecision.Recorded }).catch((error) => {
      throw markRecorded(error); // the erasure happened: the filter must not log it as refused
    });
    return { patient, recordsErased, erasedAt: new Date().toISOString() };
  }
}
