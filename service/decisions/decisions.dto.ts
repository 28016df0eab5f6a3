import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { IsIn, IsInt, IsOptional, Max, Min } from "class-validator";
import { IsAccount } from "../common/validators";
import { ALL_CATEGORIES, PURPOSES } from "../domain/vocabulary";

export class DecisionRequestDto {
  @ApiProperty() @IsAccount() patient!: string;

  @ApiPropertyOptional({ description: "Who would receive the data; defaults to the caller" })
  @IsOptional()
  @IsAccount()
  requester?: string;

  @ApiProperty({ description: "Bitmask of data categories", example: 8 })
  @IsInt()
  @Min(1)
  @Max(ALL_CATEGORIES, { message: "categories has bits outside the known categories" })
  categories!: number;

  @ApiProperty({ enum: PURPOSES.map((p) => p.code) })
  @IsIn(PURPOSES.map((p) => p.code))
  purpose!: string;
}

export class DecisionResponseDto {
  @ApiProperty({ enum: ["permit", "deny", "no-consent"] }) decision!: "permit" | "deny" | "no-consent";
  @ApiProperty({ nullable: true, type: String }) consentId!: string | null;
  @ApiProperty() patient!: string;
  @ApiProperty() requester!: string;
  @ApiProperty() categories!: number;
  @ApiProperty() purpose!: string;
  @ApiProperty({ description: "Unix seconds the decision was made for" }) decidedAt!: number;
  @ApiProperty({ description: "Last chain block the consent projection includes" }) basedOnBlock!: number;
  @ApiProperty({ type: [Object] }) obligations!: Array<{ code: string; system: string }>;
}
