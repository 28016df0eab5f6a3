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

class CdsServiceDto {
  @ApiProperty({ example: "patient-consent-consult" }) hook!: string;
  @ApiProperty({ example: "patient-consent-consult" }) id!: string;
  @ApiProperty({ example: "Consentry consent decision" }) title!: string;
  @ApiProperty({ example: "Decides whether the patient's consent permits sharing, from the consent state on chain" }) description!: string;
}

export class CdsDiscoveryDto {
  @ApiProperty({ type: [CdsServiceDto] }) services!: CdsServiceDto[];
}

class CdsCardSourceDto {
  @ApiProperty({ example: "Consentry" }) label!: string;
  @ApiProperty({ example: "http://127.0.0.1:3000" }) url!: string;
}

class CdsCardExtensionDto {
  @ApiProperty({ enum: ["CONSENT_PERMIT", "CONSENT_DENY", "NO_CONSENT"], example: "CONSENT_PERMIT" }) decision!: string;
  @ApiPropertyOptional({ description: "The deciding consent (a FHIR Consent reference)", example: "Consent/0x3f1b…" }) basedOn?: string;
  @ApiProperty({ type: "array", items: { type: "object" }, example: [] }) obligations!: unknown[];
}

class CdsCardDto {
  @ApiProperty({ enum: ["CONSENT_PERMIT", "CONSENT_DENY", "NO_CONSENT"], example: "CONSENT_PERMIT" }) summary!: string;
  @ApiProperty({ example: "A consent permits this disclosure" }) detail!: string;
  @ApiProperty({ enum: ["info", "warning", "critical"], example: "info" }) indicator!: string;
  @ApiProperty({ type: CdsCardSourceDto }) source!: CdsCardSourceDto;
  @ApiProperty({ type: CdsCardExtensionDto }) extension!: CdsCardExtensionDto;
}

export class CdsCardsDto {
  @ApiProperty({ type: [CdsCardDto] }) cards!: CdsCardDto[];
}

export type LeapDecision = "CONSENT_PERMIT" | "CONSENT_DENY" | "NO_CONSENT";

export interface CdsCard {
  summary: LeapDecision;
  detail: string;
  indicator: "info" | "warning" | "critical";
  source: { label: string; url: string };
  extension: { decision: LeapDecision; basedOn?: string; obligations: unknown[] };
}
