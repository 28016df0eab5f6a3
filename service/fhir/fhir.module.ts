import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { ConsentsModule } from "../consents/consents.module";
import { RecordReleaseModule } from "../record-release/record-release.module";
import { RecordsModule } from "../records/records.module";
import { FhirAuditEventController } from "./fhir-audit-event.controller";
import { FhirConsentController } from "./fhir-consent.controller";
import { FhirLoadController } from "./fhir-load.controller";
import { FhirMetadataController } from "./fhir-metadata.controller";
import { FhirRecordsController } from "./fhir-records.controller";

/** The FHIR R4 surface under /fhir: records (consent-checked), Consent and AuditEvent views, and their mappers. */
@Module({
  imports: [RecordReleaseModule, RecordsModule, ConsentsModule, AuditModule],
  controllers: [FhirMetadataController, FhirConsentController, FhirAuditEventController, FhirLoadController, FhirRecordsController],
})
export class FhirModule {}
