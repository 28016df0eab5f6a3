import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { Allow, Equals, IsObject, IsString, MaxLength } from "class-validator";

/** A CDS Hooks request for HL7 LEAP's patient-consent-consult hook. `context` is parsed by the service. */
export class CdsConsentRequestDto {
  @ApiProperty({ example: "patient-consent-consult" })
  @Equals("patient-consent-consult")
  hook!: string;

  @ApiProperty() @IsString() @MaxLength(200) hookInstance!: string;

  @ApiProperty({
    description:
      "patientId ({system,value} or a list; a did:pkh/address, or a custodian's identifier), actor (same shapes; defaults to the caller), purposeOfUse (code or list; defaults to TREAT), class (list of {system, code} data categories; defaults to all)",
  })
  @IsObject()
  context!: Record<string, unknown>;

  @ApiPropertyOptional() @Allow() fhirServer?: unknown;
  @ApiPropertyOptional() @Allow() fhirAuthorization?: unknown;
  @ApiPropertyOptional() @Allow() prefetch?: unknown;
}

export type LeapDecision = "CONSENT_PERMIT" | "CONSENT_DENY" | "NO_CONSENT";

export interface CdsCard {
  summary: LeapDecision;
  detail: string;
  indicator: "info" | "warning" | "critical";
  source: { label: string; url: string };
  extension: { decision: LeapDecision; basedOn?: string; obligations: unknown[] };
}
