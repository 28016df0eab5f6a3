import { ApiProperty } from "@nestjs/swagger";
import { Matches } from "class-validator";

/** A Consent's FHIR id: its consentId without 0x. */
export class FhirConsentIdParam {
  @ApiProperty({ description: "The consentId without 0x (64 hex digits)", example: "3f1b6c0e9a1d4f2b8c7e6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", pattern: "^[0-9a-fA-F]{64}$" })
  @Matches(/^[0-9a-fA-F]{64}$/, { message: "id must be a consent id (64 hex digits)" })
  id!: string;
}
