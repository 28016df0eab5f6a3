import { ApiProperty } from "@nestjs/swagger";
import { IsString, Length, Matches, MaxLength } from "class-validator";
import { IsAccount, SIGNATURE_PATTERN } from "../common/validators";

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

  @ApiProperty({ description: "personal_sign signature of the message (65 bytes, hex), or a smart wallet's ERC-1271 signature" })
  @Matches(SIGNATURE_PATTERN, { message: "signature must be 0x-prefixed hex" })
  @Length(4, 4_000)
  signature!: string;
}

export class TokenResponseDto {
  @ApiProperty() accessToken!: string;
  @ApiProperty({ example: "Bearer" }) tokenType!: "Bearer";
  @ApiProperty() expiresAt!: string;
  @ApiProperty() address!: string;
  @ApiProperty({ type: [String], example: ["institution"] }) roles!: string[];
}
