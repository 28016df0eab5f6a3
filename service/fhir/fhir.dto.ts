import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { IsAccount, IsPlainText } from "../common/validators";
import { IsOptional, IsString, Length, Matches } from "class-validator";

/** FHIR resource types and ids as the URL carries them; unknown types are refused by the service. */
export class FhirTypeParam {
  @ApiProperty({ description: "A FHIR R4 resource type the service stores (see /.well-known/consentry categories)", example: "Condition", pattern: "^[A-Z][A-Za-z]{1,63}$" })
  @Matches(/^[A-Z][A-Za-z]{1,63}$/, { message: "type must be a FHIR resource type name" })
  type!: string;
}

export class FhirInstanceParam extends FhirTypeParam {
  @ApiProperty({ description: "The resource's logical id", example: "c9f3e6a1-0d3b-4f5c-9a61-2f1f7b1f0a11", pattern: "^[A-Za-z0-9\\-.]{1,64}$" })
  @Matches(/^[A-Za-z0-9\-.]{1,64}$/, { message: "id must be a FHIR id" })
  id!: string;
}

/** Purpose and break-glass justification: strings, checked by the service so refusals are logged. */
export class FhirReadQuery {
  @ApiPropertyOptional({ description: "PurposeOfUse code (TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PUBHLTH, PATRQT); required for institutions", example: "TREAT" })
  @IsOptional()
  @IsString()
  @Length(1, 32)
  purpose?: string;

  @ApiPropertyOptional({ description: "Required with purpose=ETREAT (break-glass): why consent cannot be obtained", example: "Unconscious in the emergency department" })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  @IsPlainText()
  justification?: string;
}

/** Page size of a search without `_count`. */
export const DEFAULT_PAGE = 100;

export class FhirSearchQuery extends FhirReadQuery {
  @ApiPropertyOptional({
    description: "The patient: an account (0x address or did:pkh), or `system|value`, an identifier the patient is enrolled with. Omitted for directory types.",
    example: "did:pkh:eip155:31337:0x976EA74026E726554dB657fA54763abd0C3a0aa9",
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  patient?: string;

  @ApiPropertyOptional({ description: "Page size (1-1000; default 100)", example: "20", pattern: "^[1-9]\\d{0,3}$" })
  @IsOptional()
  @Matches(/^(?:[1-9]\d{0,2}|1000)$/, { message: "_count must be a number from 1 to 1000" })
  _count?: string;

  @ApiPropertyOptional({ description: "Where a page starts (set by `next` links)", example: "20", pattern: "^\\d{1,9}$" })
  @IsOptional()
  @Matches(/^\d{1,9}$/, { message: "_offset must be a whole number" })
  _offset?: string;

  @ApiPropertyOptional({
    description: "Last update time, FHIR date search: a date or instant with an optional prefix eq, ge, gt, le, lt; repeat for a range",
    example: "ge2026-01-01",
    type: String,
  })
  @IsOptional()
  @IsString({ each: true })
  @Length(4, 40, { each: true })
  _lastUpdated?: string | string[];
}

export class FhirVersionParam extends FhirInstanceParam {
  @ApiProperty({ description: "The version id", example: "1", pattern: "^[1-9]\\d{0,8}$" })
  @Matches(/^[1-9]\d{0,8}$/, { message: "vid must be a version number" })
  vid!: string;
}

/** `?patient=` on the Consent and AuditEvent views: an account address. */
export class FhirPatientQuery {
  @ApiPropertyOptional({ description: "The patient's account (0x address)", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) @IsOptional() @IsAccount() patient?: string;
}
