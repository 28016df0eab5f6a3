import { ApiProperty } from "@nestjs/swagger";
import { IsString, Matches, MaxLength } from "class-validator";
import { IsAccount } from "../common/validators";

export class ChallengeRequestDto {
  @ApiProperty({ example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" })
  @IsAccount()
  address!: string;
}

export class ChallengeResponseDto {
  @ApiProperty({ description: "EIP-4361 message to sign with personal_sign" }) message!: string;
  @ApiProperty() nonce!: string;
  @ApiProperty() expiresAt!: string;
}

export class TokenRequestDto {
  @ApiProperty({ description: "The message from /auth/challenge, unchanged" })
  @IsString()
  @MaxLength(2_000)
  message!: string;

  @ApiProperty({ description: "personal_sign signature of the message (65 bytes, hex)" })
  @Matches(/^0x[0-9a-fA-F]{130}$/, { message: "signature must be 65 bytes of 0x-prefixed hex" })
  signature!: string;
}

export class TokenResponseDto {
  @ApiProperty() accessToken!: string;
  @ApiProperty({ example: "Bearer" }) tokenType!: "Bearer";
  @ApiProperty() expiresAt!: string;
  @ApiProperty() address!: string;
  @ApiProperty({ type: [String], example: ["institution"] }) roles!: string[];
}
