import { ApiPropertyOptional } from "@nestjs/swagger";
import { IsAccount, IsPlainText } from "../common/validators";
import { IsOptional, IsString, Length, Matches } from "class-validator";

/** FHIR resource types and ids as the URL carries them; unknown types are refused by the service. */
export class FhirTypeParam {
  @Matches(/^[A-Z][A-Za-z]{1,63}$/, { message: "type must be a FHIR resource type name" })
  type!: string;
}

export class FhirInstanceParam extends FhirTypeParam {
  @Matches(/^[A-Za-z0-9\-.]{1,64}$/, { message: "id must be a FHIR id" })
  id!: string;
}

/** Purpose and break-glass justification: strings, checked by the service so refusals are logged. */
export class FhirReadQuery {
  @ApiPropertyOptional({ description: "PurposeOfUse code (TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PUBHLTH, PATRQT); required for institutions" })
  @IsOptional()
  @IsString()
  @Length(1, 32)
  purpose?: string;

  @ApiPropertyOptional({ description: "Required with purpose=ETREAT (break-glass): why consent cannot be obtained" })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  @IsPlainText()
  justification?: string;
}

export class FhirSearchQuery extends FhirReadQuery {
  @ApiPropertyOptional({ description: "The patient's account (0x address or did:pkh)" })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  patient?: string;
}

export class FhirVersionParam extends FhirInstanceParam {
  @Matches(/^[1-9]\d{0,8}$/, { message: "vid must be a version number" })
  vid!: string;
}

/** `?patient=` on the Consent and AuditEvent views: an account address. */
export class FhirPatientQuery {
  @ApiPropertyOptional({ description: "The patient's account (0x address)" }) @IsOptional() @IsAccount() patient?: string;
}
