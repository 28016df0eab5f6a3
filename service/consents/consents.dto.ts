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
  @ApiProperty({ description: "The patient's account", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) @IsAccount() patient!: string;

  @ApiProperty({ description: "An institution, or 0x000…000 for any registered institution", example: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" })
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

  @ApiProperty({ enum: [0, 1], description: "0 permit, 1 deny", example: 0 })
  @IsInt()
  @IsIn([0, 1], { message: "effect must be 0 (permit) or 1 (deny)" })
  effect!: number;

  @ApiProperty({ description: "Unix seconds", example: 0 }) @IsInt() @Min(0) @Max(UINT64_MAX) validFrom!: number;

  @ApiProperty({ description: "Unix seconds; 0 for open-ended", example: 0 }) @IsInt() @Min(0) @Max(UINT64_MAX) validUntil!: number;
}

class SignedActionDto {
  @ApiProperty({ description: "Unix seconds after which the signature is void", example: 1795000000 })
  @IsInt()
  @Min(0)
  @Max(UINT64_MAX)
  deadline!: number;

  @ApiProperty({ description: "The patient's EIP-712 signature", example: "0x8d1c…1b" })
  @Matches(SIGNATURE_PATTERN, { message: "signature must be 0x-prefixed hex" })
  @Length(4, 4_000)
  signature!: string;

  @ApiPropertyOptional({ description: "Answer only once the transaction is mined and indexed", example: true })
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
  @ApiProperty({ description: "The consent id (32 bytes, hex)", example: "0x3f1b6c0e9a1d4f2b8c7e6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" })
  @Matches(/^0x[0-9a-fA-F]{64}$/, { message: "consent id must be 32 bytes of 0x-prefixed hex" })
  id!: string;
}

export class ConsentQueryDto {
  @ApiPropertyOptional({ description: "Only this patient's consents", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) @IsOptional() @IsAccount() patient?: string;
}

export class TransactionRefDto {
  @ApiProperty({ description: "The service's transaction id", example: "12" }) id!: string;
  @ApiPropertyOptional({ description: "Transaction hash, once sent", example: "0x9b2e…" }) hash?: string;
  @ApiProperty({ description: "sent, mined or confirmed", example: "mined" }) state!: string;
  @ApiPropertyOptional({ description: "Block it was mined in", example: 57 }) blockNumber?: number;
}

export class ConsentViewDto {
  @ApiProperty({ example: "0x3f1b6c0e9a1d4f2b8c7e6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" }) consentId!: string;
  @ApiProperty({ description: "Lower-case account", example: "0x976ea74026e726554db657fa54763abd0c3a0aa9" }) patient!: string;
  @ApiProperty({ description: "Lower-case account; 0x000…000 for any institution", example: "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65" }) grantee!: string;
  @ApiProperty({ description: "Bitmask of data categories", example: 4 }) categories!: number;
  @ApiProperty({ type: [String], example: ["conditions"] }) categoryCodes!: string[];
  @ApiProperty({ description: "Bitmask of purposes", example: 1 }) purposes!: number;
  @ApiProperty({ type: [String], example: ["TREAT"] }) purposeCodes!: string[];
  @ApiProperty({ enum: ["permit", "deny"], example: "permit" }) effect!: "permit" | "deny";
  @ApiProperty({ description: "Unix seconds", example: 0 }) validFrom!: number;
  @ApiProperty({ description: "Unix seconds; 0 for open-ended", example: 0 }) validUntil!: number;
  @ApiProperty({ enum: ["active", "revoked", "expired", "not-yet-valid"], example: "active" }) status!: string;
  @ApiProperty({ description: "Unix seconds of the block it was granted in", example: 1795000000 }) grantedAt!: number;
  @ApiPropertyOptional({ description: "Unix seconds of the revocation", nullable: true, type: Number, example: null }) revokedAt?: number | null;
  @ApiProperty({ example: "0x9b2e…" }) grantedTx!: string;
  @ApiProperty({ example: 57 }) grantedBlock!: number;
}

export class ConsentSubmissionDto {
  @ApiProperty({ example: "0x3f1b6c0e9a1d4f2b8c7e6d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" }) consentId!: string;
  @ApiProperty({ enum: ["pending", "active", "revoked"], example: "active" }) status!: "pending" | "active" | "revoked";
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
