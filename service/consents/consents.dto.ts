import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { Type } from "class-transformer";
import {
  IsBoolean,
  IsDefined,
  IsObject,
  IsIn,
  IsInt,
  IsOptional,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from "class-validator";
import { IsAccount, SIGNATURE_PATTERN } from "../common/validators";

const UINT64_MAX = Number.MAX_SAFE_INTEGER; // JSON numbers; times in seconds stay far below this.

/** The terms exactly as the patient signed them (EIP-712 `Grant`). */
export class ConsentTermsDto {
  @ApiProperty() @IsAccount() patient!: string;

  @ApiProperty({ description: "An institution, or 0x000…000 for any registered institution" })
  @IsAccount()
  grantee!: string;

  @ApiProperty({ description: "Bitmask of data categories (see /.well-known/consentry)", example: 8 })
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  categories!: number;

  @ApiProperty({ description: "Bitmask of PurposeOfUse codes", example: 1 })
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  purposes!: number;

  @ApiProperty({ enum: [0, 1], description: "0 permit, 1 deny" })
  @IsInt()
  @IsIn([0, 1], { message: "effect must be 0 (permit) or 1 (deny)" })
  effect!: number;

  @ApiProperty({ description: "Unix seconds" }) @IsInt() @Min(0) @Max(UINT64_MAX) validFrom!: number;

  @ApiProperty({ description: "Unix seconds; 0 for open-ended" }) @IsInt() @Min(0) @Max(UINT64_MAX) validUntil!: number;
}

class SignedActionDto {
  @ApiProperty({ description: "Unix seconds after which the signature is void" })
  @IsInt()
  @Min(0)
  @Max(UINT64_MAX)
  deadline!: number;

  @ApiProperty({ description: "The patient's EIP-712 signature" })
  @Matches(SIGNATURE_PATTERN, { message: "signature must be 0x-prefixed hex" })
  @Length(4, 4_000)
  signature!: string;

  @ApiPropertyOptional({ description: "Answer only once the transaction is mined and indexed" })
  @IsOptional()
  @IsBoolean()
  wait?: boolean;
}

export class GrantConsentDto extends SignedActionDto {
  @ApiProperty({ description: "The patient's current nonce on ConsentRegistry, as a decimal string", example: "0" })
  @Matches(/^\d{1,78}$/, { message: "nonce must be a decimal integer" })
  nonce!: string;

  @ApiProperty({ type: ConsentTermsDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ConsentTermsDto)
  terms!: ConsentTermsDto;
}

export class RevokeConsentDto extends SignedActionDto {}

export class ConsentIdParam {
  @Matches(/^0x[0-9a-fA-F]{64}$/, { message: "consent id must be 32 bytes of 0x-prefixed hex" })
  id!: string;
}

export class ConsentQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsAccount() patient?: string;
}

export class TransactionRefDto {
  @ApiProperty() id!: string;
  @ApiPropertyOptional() hash?: string;
  @ApiProperty() state!: string;
  @ApiPropertyOptional() blockNumber?: number;
}

export class ConsentViewDto {
  @ApiProperty() consentId!: string;
  @ApiProperty() patient!: string;
  @ApiProperty() grantee!: string;
  @ApiProperty() categories!: number;
  @ApiProperty({ type: [String] }) categoryCodes!: string[];
  @ApiProperty() purposes!: number;
  @ApiProperty({ type: [String] }) purposeCodes!: string[];
  @ApiProperty({ enum: ["permit", "deny"] }) effect!: "permit" | "deny";
  @ApiProperty() validFrom!: number;
  @ApiProperty() validUntil!: number;
  @ApiProperty({ enum: ["active", "revoked", "expired", "not-yet-valid"] }) status!: string;
  @ApiProperty() grantedAt!: number;
  @ApiPropertyOptional() revokedAt?: number | null;
  @ApiProperty() grantedTx!: string;
  @ApiProperty() grantedBlock!: number;
}

export class ConsentSubmissionDto {
  @ApiProperty() consentId!: string;
  @ApiProperty({ enum: ["pending", "active", "revoked"] }) status!: "pending" | "active" | "revoked";
  @ApiProperty({ type: TransactionRefDto }) transaction!: TransactionRefDto;
  @ApiPropertyOptional({ type: ConsentViewDto }) consent?: ConsentViewDto;
}

export class PatientAddressParam {
  @ApiProperty({ description: "The patient's account (any checksum)", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" })
  @IsAccount()
  address!: string;
}

export class PatientNonceDto {
  @ApiProperty({ description: "The patient's account (EIP-55)", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) patient!: string;
  @ApiProperty({ description: "The nonce the next Grant must carry, as a decimal string", example: "1" }) nonce!: string;
  @ApiProperty({ description: "The chain block it was read at", example: 42 }) blockNumber!: number;
}
