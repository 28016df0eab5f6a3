import { Inject, Injectable, type OnApplicationBootstrap } from "@nestjs/common";
import { getAddress } from "ethers";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { SignatureVerifier } from "../chain/signature-verifier";
import { badRequest, conflict, forbidden } from "../common/problem";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { consentDomain, ENROLMENT_TYPES } from "../domain/eip712";
import { identifiersHash } from "../patients/identifiers";
import { PatientRepository } from "../patients/patient.repository";
import { RecordService } from "../records/record.service";
import type { EnrolmentViewDto, EnrolPatientDto, EnrolmentResponseDto } from "./enrolment.dto";

@Injectable()
export class EnrolmentService implements OnApplicationBootstrap {
  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly authority: AuthorityService,
    private readonly signatures: SignatureVerifier,
    private readonly patients: PatientRepository,
    private readonly records: RecordService,
  ) {}

  /** Converts enrolments stored before identifiers were hashed and sealed (the database alone cannot: it lacks the keys). */
  async onApplicationBootstrap(): Promise<void> {
    for (const row of await this.patients.withPlaintextIdentifiers()) {
      const sealed = await this.records.sealForPatient(row.patient, "enrolment-identifiers", Buffer.from(JSON.stringify(row.identifiers), "utf8"));
      await this.patients.sealIdentifiers(row.id, row.identifiers, sealed);
    }
  }

  /** A patient's enrolments: all of them to the patient, its own link to a custodian; nobody else's. */
  async list(actor: Actor, patient: string): Promise<EnrolmentViewDto[]> {
    const me = actor.address.toLowerCase();
    const self = patient.toLowerCase() === me;
    if (!self && !this.authority.actorHolds(actor, "institution")) throw forbidden("enrolment-scope", "Patients see only their own enrolments");
    return (await this.patients.enrolmentsOf(patient))
      .filter((e) => self || e.custodian === me)
      .map((e) => ({ custodian: getAddress(e.custodian), identifiersHash: e.identifiersHash, enrolledAt: e.enrolledAt.toISOString() }));
  }

  /** Links a patient to the calling institution's identifiers, with the patient's signed agreement. */
  async enrol(actor: Actor, dto: EnrolPatientDto): Promise<EnrolmentResponseDto> {
    if (!(await this.authority.heldOnChain("institution", actor.address))) {
      throw forbidden("role-required", "Only a registered institution can enrol patients");
    }
    if (dto.deadline < Math.floor(Date.now() / 1000)) {
      throw badRequest("signature-expired", "The enrolment signature's deadline has passed");
    }
    const patient = getAddress(dto.patient);
    const hash = identifiersHash(dto.identifiers);
    const signed = { patient, custodian: actor.address, identifiersHash: hash, deadline: dto.deadline };
    if (!(await this.signatures.isValid(patient, consentDomain(this.deployment), ENROLMENT_TYPES, signed, dto.signature))) {
      throw badRequest("invalid-signature", "The enrolment is not signed by the patient");
    }
    for (const identifier of dto.identifiers) {
      const holders = await this.patients.findByIdentifier(identifier, actor.address);
      if (holders.some((p) => p !== patient.toLowerCase())) {
        throw conflict("identifier-in-use", "Identifier already linked", `${identifier.system} is linked to another patient`);
      }
    }
    const identifiers = dto.identifiers.map(({ system, value }) => ({ system, value }));
    const identifiersSealed = await this.records.sealForPatient(patient, "enrolment-identifiers", Buffer.from(JSON.stringify(identifiers), "utf8"));
    const enrolment = await this.patients.upsert({
      patient,
      custodian: actor.address,
      identifiers,
      identifiersSealed,
      identifiersHash: hash,
      signature: dto.signature,
    });
    this.authority.forgetRoles(patient); // the account is a patient from its next request on
    return {
      patient,
      custodian: actor.address,
      identifiersHash: hash,
      enrolledAt: enrolment.enrolledAt.toISOString(),
    };
  }
}
