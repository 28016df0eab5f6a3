import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";

/*
 * HL7 LEAP's patient-consent-consult shapes, for the OpenAPI document. The request is checked by the service
 * (leap-request.ts) as LEAP's own request schema checks it, not by the validation pipe, so every refusal is a
 * LEAP error ({httpCode, error, errorMessage}) recorded in the access trail.
 */

class LeapIdentifierDto {
  @ApiPropertyOptional({ example: "urn:ietf:rfc:3986" }) system?: string;
  @ApiProperty({ example: "did:pkh:eip155:31337:0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) value!: string;
}

class LeapCodingDto {
  @ApiProperty({ example: "http://hl7.org/fhir/resource-types" }) system!: string;
  @ApiProperty({ example: "Condition" }) code!: string;
}

class CdsConsultContextDto {
  @ApiProperty({
    type: [LeapIdentifierDto],
    description:
      "The patient's identifiers: a did:pkh or an address, or an identifier the caller enrolled the patient with (another custodian's identifiers never match). None found: NO_CONSENT.",
  })
  patientId!: LeapIdentifierDto[];

  @ApiProperty({
    type: [LeapIdentifierDto],
    description: "The actor who would receive the data (the requester the decision is about), by did:pkh or address. An actor known by no account gets NO_CONSENT.",
  })
  actor!: LeapIdentifierDto[];

  @ApiPropertyOptional({
    oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
    description: "HL7 v3 PurposeOfUse code(s) (TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PUBHLTH, PATRQT); default TREAT. A permit covers every purpose asked, so an unknown code gets NO_CONSENT.",
    example: ["TREAT"],
  })
  purposeOfUse?: string | string[];

  @ApiPropertyOptional({
    type: [LeapCodingDto],
    description: "Kinds of consent that apply; this service keeps patient-privacy consents (consentscope#patient-privacy, LOINC 59284-0): any other gets NO_CONSENT.",
  })
  category?: LeapCodingDto[];

  @ApiPropertyOptional({
    type: [LeapCodingDto],
    description:
      "The classes of data asked for: FHIR resource types (http://hl7.org/fhir/resource-types) or data categories (urn:consentry:category); default every category. Classes no consent can cover, and categories no consent permits, come back in a REDACT obligation of a partial CONSENT_PERMIT.",
  })
  class?: LeapCodingDto[];
}

export class CdsConsentRequestDto {
  @ApiProperty({ example: "patient-consent-consult" }) hook!: string;
  @ApiProperty({ example: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea" }) hookInstance!: string;
  @ApiProperty({ type: CdsConsultContextDto, description: "No other keys are accepted (LEAP's schema)." }) context!: CdsConsultContextDto;
  @ApiPropertyOptional({ description: "CDS Hooks fhirServer (ignored)" }) fhirServer?: string;
  @ApiPropertyOptional({ description: "CDS Hooks fhirAuthorization (ignored)", type: "object", additionalProperties: true }) fhirAuthorization?: Record<string, unknown>;
  @ApiPropertyOptional({ description: "CDS Hooks prefetch (ignored)", type: "object", additionalProperties: true }) prefetch?: Record<string, unknown>;
}

class CdsServiceDto {
  @ApiProperty({ example: "patient-consent-consult" }) hook!: string;
  @ApiProperty({ example: "patient-consent-consult" }) id!: string;
  @ApiProperty({ example: "Patient Consent Consult" }) title!: string;
  @ApiProperty({ example: "Whether an actor may receive a patient's data for a purpose, decided from the consents recorded on chain" }) description!: string;
}

export class CdsDiscoveryDto {
  @ApiProperty({ type: [CdsServiceDto] }) services!: CdsServiceDto[];
}

class CdsCardSourceDto {
  @ApiProperty({ example: "Consentry" }) label!: string;
  @ApiProperty({ example: "http://127.0.0.1:3000" }) url!: string;
}

class LeapObligationParametersDto {
  @ApiProperty({ type: [LeapCodingDto], description: "What to withhold: classes as asked, and the data categories behind them" }) codes!: LeapCodingDto[];
}

class LeapObligationDto {
  @ApiProperty({ type: LeapCodingDto, example: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "REDACT" } }) id!: LeapCodingDto;
  @ApiProperty({ type: LeapObligationParametersDto }) parameters!: LeapObligationParametersDto;
}

class CdsCardExtensionDto {
  @ApiProperty({ enum: ["CONSENT_PERMIT", "CONSENT_DENY", "NO_CONSENT"], example: "CONSENT_PERMIT" }) decision!: string;
  @ApiPropertyOptional({ description: "The deciding consent: its absolute URL in this service's FHIR API", example: "http://127.0.0.1:3000/fhir/Consent/3f1b6c0e9a1d4f2b8c7e6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" }) basedOn?: string;
  @ApiProperty({ type: [LeapObligationDto], description: "REDACT obligations on a partial CONSENT_PERMIT; empty otherwise" }) obligations!: LeapObligationDto[];
}

class CdsCardDto {
  @ApiProperty({ enum: ["CONSENT_PERMIT", "CONSENT_DENY", "NO_CONSENT"], example: "CONSENT_PERMIT" }) summary!: string;
  @ApiProperty({ example: "A patient consent on chain permits this action." }) detail!: string;
  @ApiProperty({ enum: ["info", "warning", "critical"], example: "info" }) indicator!: string;
  @ApiProperty({ type: CdsCardSourceDto }) source!: CdsCardSourceDto;
  @ApiProperty({ type: CdsCardExtensionDto }) extension!: CdsCardExtensionDto;
}

export class CdsCardsDto {
  @ApiProperty({ type: [CdsCardDto] }) cards!: CdsCardDto[];
}

export type LeapDecision = "CONSENT_PERMIT" | "CONSENT_DENY" | "NO_CONSENT";

export interface LeapObligation {
  id: { system: string; code: string };
  parameters: { codes: Array<{ system: string; code: string }> };
}

export interface CdsCard {
  summary: LeapDecision;
  detail: string;
  indicator: "info" | "warning" | "critical";
  source: { label: string; url: string };
  extension: { decision: LeapDecision; basedOn?: string; obligations: LeapObligation[] };
}
