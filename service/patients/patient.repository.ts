import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";
import { EnrolmentEntity, type PatientIdentifier } from "./enrolment.entity";
import { IdentifierKeys } from "./identifier-keys";

@Injectable()
export class PatientRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: IdentifierKeys,
  ) {}

  private get enrolments() {
    return this.dataSource.getRepository(EnrolmentEntity);
  }

  /** Creates or refreshes the patient's link to the custodian: lookups by keyed hash, the identifiers sealed. */
  async upsert(
    enrolment: Omit<EnrolmentEntity, "id" | "enrolledAt" | "identifierKeys" | "identifiersSealed"> & { identifiers: PatientIdentifier[]; identifiersSealed?: Buffer | null },
  ): Promise<EnrolmentEntity> {
    const { identifiers, identifiersSealed = null, ...rest } = enrolment;
    await this.enrolments.upsert(
      { ...rest, identifiersSealed, identifierKeys: identifiers.map((i) => this.keys.of(i)), patient: enrolment.patient.toLowerCase(), custodian: enrolment.custodian.toLowerCase() },
      ["patient", "custodian"],
    );
    return (await this.find(enrolment.patient, enrolment.custodian))!;
  }

  find(patient: string, custodian: string): Promise<EnrolmentEntity | null> {
    return this.enrolments.findOneBy({ patient: patient.toLowerCase(), custodian: custodian.toLowerCase() });
  }

  async isEnrolled(patient: string): Promise<boolean> {
    return (await this.enrolments.countBy({ patient: patient.toLowerCase() })) > 0;
  }

  /** A patient's enrolments, oldest first. */
  enrolmentsOf(patient: string): Promise<EnrolmentEntity[]> {
    return this.enrolments.find({ where: { patient: patient.toLowerCase() }, order: { enrolledAt: "ASC" } });
  }

  async custodiansOf(patient: string): Promise<string[]> {
    const rows = await this.enrolments.find({ where: { patient: patient.toLowerCase() }, select: { custodian: true } });
    return rows.map((r) => r.custodian);
  }

  /** The patients a custodian knows by `identifier`, if any. */
  async findByIdentifier(identifier: PatientIdentifier, custodian?: string): Promise<string[]> {
    const qb = this.enrolments
      .createQueryBuilder("e")
      .select("DISTINCT e.patient", "patient")
      .where(":key = ANY(e.identifier_keys)", { key: this.keys.of(identifier) });
    if (custodian) qb.andWhere("e.custodian = :custodian", { custodian: custodian.toLowerCase() });
    return (await qb.getRawMany<{ patient: string }>()).map((r) => r.patient);
  }

  /** Enrolments written before identifiers were hashed and sealed, still holding them in the clear. */
  async withPlaintextIdentifiers(): Promise<Array<{ id: string; patient: string; identifiers: PatientIdentifier[] }>> {
    return this.dataSource.query(`SELECT id, patient, identifiers FROM patient_enrolments WHERE identifiers IS NOT NULL`);
  }

  /** Replaces an enrolment's plaintext identifiers by their keyed hashes and sealed copy. */
  async sealIdentifiers(id: string, identifiers: PatientIdentifier[], sealed: Buffer): Promise<void> {
    await this.dataSource.query(`UPDATE patient_enrolments SET identifier_keys = $2, identifiers_sealed = $3, identifiers = NULL WHERE id = $1`, [
      id,
      identifiers.map((i) => this.keys.of(i)),
      sealed,
    ]);
  }

  /** Erasure: the link to local identifiers is personal data and goes with the records. */
  async deleteAllOf(patient: string): Promise<void> {
    await this.enrolments.delete({ patient: patient.toLowerCase() });
  }
}
