import { Body, Controller, HttpCode, Post } from "@nestjs/common";
import { ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from "@nestjs/swagger";
import { Public } from "./auth.decorators";
import { ChallengeRequestDto, ChallengeResponseDto, TokenRequestDto, TokenResponseDto } from "./auth.dto";
import { AuthService } from "./auth.service";

@ApiTags("auth")
@Public()
@Controller("auth")
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post("challenge")
  @HttpCode(200)
  @ApiOkResponse({ type: ChallengeResponseDto, description: "An EIP-4361 message with a one-time nonce" })
  challenge(@Body() body: ChallengeRequestDto): Promise<ChallengeResponseDto> {
    return this.auth.challenge(body.address);
  }

  @Post("token")
  @HttpCode(200)
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiUnauthorizedResponse({ description: "Wrong signature, or an unknown, reused or expired nonce" })
  token(@Body() body: TokenRequestDto): Promise<TokenResponseDto> {
    return this.auth.token(body.message, body.signature);
  }
}
