import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { Type } from "class-transformer";
import { IsInt, IsOptional, IsUUID, Max, Min } from "class-validator";
import { IsAccount, IsInstant } from "../common/validators";

export class TrailQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsAccount() patient?: string;
  @ApiPropertyOptional() @IsOptional() @IsAccount() actor?: string;
  @ApiPropertyOptional({ description: "ISO 8601, inclusive" }) @IsOptional() @IsInstant() from?: string;
  @ApiPropertyOptional({ description: "ISO 8601, exclusive" }) @IsOptional() @IsInstant() to?: string;
  @ApiPropertyOptional({ description: "Return events after this seq (paging)" }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) after?: number;
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class ExportQueryDto {
  @ApiProperty({ description: "ISO 8601, inclusive" }) @IsInstant() from!: string;
  @ApiProperty({ description: "ISO 8601, exclusive" }) @IsInstant() to!: string;
}

export class EventIdParam {
  @IsUUID() id!: string;
}

export class BatchIdParam {
  @Type(() => Number) @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) id!: number;
}

export class AccessEventViewDto {
  @ApiProperty() id!: string;
  @ApiProperty() seq!: number;
  @ApiProperty() time!: string;
  @ApiProperty({ description: "The authenticated caller" }) actor!: string;
  @ApiProperty({ description: "Whom the decision is about: the caller, or the party a custodian consulted for" }) requester!: string;
  @ApiProperty({ nullable: true, type: String }) patient!: string | null;
  @ApiProperty() action!: string;
  @ApiProperty() decision!: string;
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
  @ApiProperty() batchId!: number;
  @ApiProperty() root!: string;
  @ApiProperty() firstSeq!: number;
  @ApiProperty() lastSeq!: number;
  @ApiProperty({ enum: ["built", "submitted", "confirmed"] }) state!: string;
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
  @ApiPropertyOptional({ description: "ISO 8601; defaults to now minus AUDIT_RETENTION_DAYS, and may not be later" })
  @IsOptional()
  @IsInstant()
  before?: string;
}
