import { ApiProperty } from "@nestjs/swagger";
import { Type } from "class-transformer";
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from "class-validator";
import { IsAccount, SIGNATURE_PATTERN } from "../common/validators";

export class PatientIdentifierDto {
  @ApiProperty({ example: "urn:oid:2.16.840.1.113883.19.5" })
  @IsString()
  @Length(1, 256)
  system!: string;

  @ApiProperty({ example: "MRN-0042" })
  @IsString()
  @Length(1, 256)
  value!: string;
}

export class EnrolPatientDto {
  @ApiProperty({ description: "The patient's account" })
  @IsAccount()
  patient!: string;

  @ApiProperty({ type: [PatientIdentifierDto], description: "The custodian's local identifiers; they stay off chain" })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => PatientIdentifierDto)
  identifiers!: PatientIdentifierDto[];

  @ApiProperty({ description: "Unix seconds after which the signature is void" })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  deadline!: number;

  @ApiProperty({ description: "The patient's EIP-712 signature of Enrolment(patient, custodian, identifiersHash, deadline)" })
  @Matches(SIGNATURE_PATTERN, { message: "signature must be 0x-prefixed hex" })
  @Length(4, 4_000)
  signature!: string;
}

export class EnrolmentResponseDto {
  @ApiProperty() patient!: string;
  @ApiProperty() custodian!: string;
  @ApiProperty() identifiersHash!: string;
  @ApiProperty() enrolledAt!: string;
}

export class EnrolmentPatientParam {
  @ApiProperty({ description: "The patient's account (any checksum)", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" })
  @IsAccount()
  address!: string;
}

export class EnrolmentViewDto {
  @ApiProperty({ description: "The custodian institution holding the patient's records", example: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" })
  custodian!: string;

  @ApiProperty({ description: "keccak256 of the identifiers the patient signed; the identifiers stay with the custodian", example: "0x3f5c…" })
  identifiersHash!: string;

  @ApiProperty({ description: "When the custodian enrolled the patient (ISO 8601)", example: "2026-11-27T10:00:00.000Z" })
  enrolledAt!: string;
}
