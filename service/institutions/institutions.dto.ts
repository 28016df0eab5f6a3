import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";
import { Transform } from "class-transformer";
import { IsBoolean, IsOptional, IsString, Length, Matches } from "class-validator";
import { IsAccount, IsPlainText } from "../common/validators";

const NORTHSIDE_LAB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

export class RegisterInstitutionDto {
  @ApiProperty({ description: "The institution's account", example: NORTHSIDE_LAB })
  @IsAccount()
  address!: string;

  @ApiProperty({
    description: "The name patients see; unique among institutions (case and spacing ignored). Stored by the service, never on chain.",
    example: "Northside Lab",
    minLength: 1,
    maxLength: 100,
  })
  @Transform(({ value }) => (typeof value === "string" ? value.trim().replace(/\s+/g, " ") : value))
  @IsString()
  @Length(1, 100)
  @IsPlainText()
  @Matches(/\S/, { message: "name must not be blank" })
  name!: string;

  @ApiPropertyOptional({ description: "Answer only once the role grant is mined and indexed", example: true })
  @IsOptional()
  @IsBoolean()
  wait?: boolean;
}

export class InstitutionDto {
  @ApiProperty({ description: "The institution's account (EIP-55)", example: NORTHSIDE_LAB })
  address!: string;

  @ApiProperty({ description: "The name the registry's admin gave it; null when it has none", example: "Northside Lab", nullable: true, type: String })
  name!: string | null;

  @ApiProperty({ description: "The on-chain role the directory lists", enum: ["institution"], example: "institution" })
  role!: "institution";

  @ApiProperty({ description: "Whether the account holds the role at the last indexed block", example: true })
  holdsRole!: boolean;

  @ApiProperty({ description: "Unix seconds of the block of the latest grant or revocation; null when the chain has none yet", example: 1795000000, nullable: true, type: Number })
  since!: number | null;

  @ApiProperty({ description: "The block of that change", example: 12, nullable: true, type: Number })
  block!: number | null;
}

export class InstitutionDirectoryDto {
  @ApiProperty({ description: "Last chain block the role states include", example: 42 })
  basedOnBlock!: number;

  @ApiProperty({ type: [InstitutionDto], description: "Every account that holds or held the institution role, and every named one, by name" })
  institutions!: InstitutionDto[];
}

export class RegistrationTransactionDto {
  @ApiProperty({ description: "The service's transaction id", example: "7" }) id!: string;
  @ApiPropertyOptional({ description: "Transaction hash, once sent", example: "0x5f0c…" }) hash?: string;
  @ApiProperty({ description: "created, sent, mined, confirmed, failed or replaced", example: "mined" }) state!: string;
  @ApiPropertyOptional({ description: "Block it was mined in", example: 43 }) blockNumber?: number;
}

export class InstitutionRegistrationDto {
  @ApiProperty({
    enum: ["registered", "pending"],
    description: "registered: the account holds the role (as indexed) and has the name; pending: the role grant is on its way to the chain",
    example: "registered",
  })
  status!: "registered" | "pending";

  @ApiProperty({ description: "Whether this request changed anything (a grant sent or a name recorded); false when it was already so", example: true })
  changed!: boolean;

  @ApiProperty({ type: InstitutionDto })
  institution!: InstitutionDto;

  @ApiPropertyOptional({ type: RegistrationTransactionDto, description: "The role grant, when one was sent (or is still on its way)" })
  transaction?: RegistrationTransactionDto;
}

export class InstitutionAddressParam {
  @ApiProperty({ description: "The account (any checksum)", example: NORTHSIDE_LAB })
  @IsAccount()
  address!: string;
}
