import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";
import { EnrolmentEntity, type PatientIdentifier } from "./enrolment.entity";

@Injectable()
export class PatientRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get enrolments() {
    return this.dataSource.getRepository(EnrolmentEntity);
  }

  /** Creates or refreshes the patient's link to the custodian. */
  async upsert(enrolment: Omit<EnrolmentEntity, "id" | "enrolledAt">): Promise<EnrolmentEntity> {
    await this.enrolments.upsert(
      { ...enrolment, patient: enrolment.patient.toLowerCase(), custodian: enrolment.custodian.toLowerCase() },
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

  async custodiansOf(patient: string): Promise<string[]> {
    const rows = await this.enrolments.find({ where: { patient: patient.toLowerCase() }, select: { custodian: true } });
    return rows.map((r) => r.custodian);
  }

  /** The patient a custodian knows by `identifier`, if any. */
  async findByIdentifier(identifier: PatientIdentifier, custodian?: string): Promise<string[]> {
    const qb = this.enrolments
      .createQueryBuilder("e")
      .select("DISTINCT e.patient", "patient")
      .where("e.identifiers @> :needle::jsonb", { needle: JSON.stringify([identifier]) });
    if (custodian) qb.andWhere("e.custodian = :custodian", { custodian: custodian.toLowerCase() });
    return (await qb.getRawMany<{ patient: string }>()).map((r) => r.patient);
  }

  /** Erasure: the link to local identifiers is personal data and goes with the records. */
  async deleteAllOf(patient: string): Promise<void> {
    await this.enrolments.delete({ patient: patient.toLowerCase() });
  }
}
