import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { Type } from "class-transformer";
import { IsInt, IsOptional, IsUUID, Max, Min } from "class-validator";
import { IsAccount, IsInstant } from "../common/validators";

export class TrailQueryDto {
  @ApiPropertyOptional({ description: "Only events about this patient", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) @IsOptional() @IsAccount() patient?: string;
  @ApiPropertyOptional({ description: "Only events of this caller", example: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" }) @IsOptional() @IsAccount() actor?: string;
  @ApiPropertyOptional({ description: "ISO 8601, inclusive", example: "2026-01-01T00:00:00Z" }) @IsOptional() @IsInstant() from?: string;
  @ApiPropertyOptional({ description: "ISO 8601, exclusive", example: "2027-01-01T00:00:00Z" }) @IsOptional() @IsInstant() to?: string;
  @ApiPropertyOptional({ description: "Return events after this seq (paging)", example: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) after?: number;
  @ApiPropertyOptional({ default: 100, description: "Page size", example: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class ExportQueryDto {
  @ApiProperty({ description: "ISO 8601, inclusive", example: "2026-01-01T00:00:00Z" }) @IsInstant() from!: string;
  @ApiProperty({ description: "ISO 8601, exclusive", example: "2027-01-01T00:00:00Z" }) @IsInstant() to!: string;
}

export class EventIdParam {
  @ApiProperty({ description: "The event id (UUID)", example: "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e", format: "uuid" })
  @IsUUID()
  id!: string;
}

export class BatchIdParam {
  @ApiProperty({ description: "The batch id", example: 1, type: "integer", minimum: 1 })
  @Type(() => Number) @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) id!: number;
}

export class AccessEventViewDto {
  @ApiProperty({ example: "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e" }) id!: string;
  @ApiProperty({ description: "Gapless sequence number", example: 42 }) seq!: number;
  @ApiProperty({ example: "2026-11-27T10:00:00.000Z" }) time!: string;
  @ApiProperty({ description: "The authenticated caller" }) actor!: string;
  @ApiProperty({ description: "Whom the decision is about: the caller, or the party a custodian consulted for" }) requester!: string;
  @ApiProperty({ nullable: true, type: String }) patient!: string | null;
  @ApiProperty({ example: "record.read" }) action!: string;
  @ApiProperty({ example: "permit" }) decision!: string;
  @ApiProperty({ type: [String] }) categories!: string[];
  @ApiProperty({ type: [String] }) purposes!: string[];
  @ApiProperty({ nullable: true, type: String }) consentId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) resourceType!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) resourceId!: string | null;
  @ApiProperty({ description: "A break-glass read: emergency access without consent" }) breakGlass!: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) justification!: string | null;
  @ApiProperty({ nullable: true, type: Number }) batchId!: number | null;
}

export class TrailPageDto {
  @ApiProperty({ type: [AccessEventViewDto] }) events!: AccessEventViewDto[];
  @ApiPropertyOptional({ description: "Pass as `after` for the next page", nullable: true, type: Number }) next!: number | null;
}

export class BatchViewDto {
  @ApiProperty({ example: 1 }) batchId!: number;
  @ApiProperty({ description: "Merkle root anchored on AccessLedger", example: "0x5c2e…" }) root!: string;
  @ApiProperty({ example: 1 }) firstSeq!: number;
  @ApiProperty({ example: 42 }) lastSeq!: number;
  @ApiProperty({ enum: ["built", "submitted", "confirmed"], example: "confirmed" }) state!: string;
  @ApiProperty() breakGlass!: boolean;
  @ApiProperty({ nullable: true, type: String }) txHash!: string | null;
  @ApiProperty({ nullable: true, type: Number }) blockNumber!: number | null;
  @ApiProperty() chainId!: number;
  @ApiProperty() contract!: string;
  @ApiProperty() eventsPruned!: boolean;
}

export class EventProofDto {
  @ApiProperty() eventId!: string;
  @ApiProperty() seq!: number;
  @ApiProperty({ type: [String], description: "ABI types of the leaf values (docs/access-trail.md)" }) leafEncoding!: string[];
  @ApiProperty({ type: [Object], nullable: true, description: "The values, in leafEncoding order; null when they would reveal a patient to the requester of a refused read" })
  leafValues!: Array<string | number> | null;
  @ApiProperty() leaf!: string;
  @ApiProperty({ type: [String] }) proof!: string[];
  @ApiProperty({ type: BatchViewDto }) batch!: BatchViewDto;
}

export class PruneRequestDto {
  @ApiPropertyOptional({ description: "ISO 8601; defaults to now minus AUDIT_RETENTION_DAYS, and may not be later", example: "2026-05-27T00:00:00Z" })
  @IsOptional()
  @IsInstant()
  before?: string;
}

export class PruneResultDto {
  @ApiProperty({ description: "Events older than this were deleted", example: "2026-05-27T00:00:00.000Z" }) cutoff!: string;
  @ApiProperty({ example: 3 }) batchesPruned!: number;
  @ApiProperty({ example: 1200 }) eventsDeleted!: number;
}
