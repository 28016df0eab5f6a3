import { Body, Controller, createParamDecorator, type ExecutionContext, HttpCode, Post } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import type { FastifyRequest } from "fastify";
import { ApiProblems } from "../common/openapi";
import { Public } from "./auth.decorators";
import { ChallengeRequestDto, ChallengeResponseDto, TokenRequestDto, TokenResponseDto } from "./auth.dto";
import { AuthService } from "./auth.service";
import type { RequestOrigin } from "./sign-in-origin";

/** The Host header the client used and whether it arrived over TLS: what a sign-in message may name. */
const Origin = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestOrigin => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  return { host: request.headers.host, protocol: request.protocol === "https" ? "https" : "http" };
});

@ApiTags("auth")
@Public()
@Controller("auth")
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post("challenge")
  @HttpCode(200)
  @ApiOperation({
    summary: "Ask for a sign-in challenge",
    description:
      "An EIP-4361 (Sign-In with Ethereum) message with a one-time nonce, for the account to sign with `personal_sign`. It names the host the client used (when AUTH_ALLOWED_HOSTS allows it) or PUBLIC_URL, the chain id, and an expiry.",
  })
  @ApiOkResponse({ type: ChallengeResponseDto, description: "An EIP-4361 message with a one-time nonce" })
  @ApiProblems(
    [400, "Invalid address, or a Host header sign-in is not offered at (`sign-in-host-not-allowed`)", "validation-failed"],
    [503, "Too many challenges are outstanding (`sign-in-busy`)", "sign-in-busy"],
  )
  challenge(@Body() body: ChallengeRequestDto, @Origin() origin: RequestOrigin): Promise<ChallengeResponseDto> {
    return this.auth.challenge(body.address, origin);
  }

  @Post("token")
  @HttpCode(200)
  @ApiOperation({
    summary: "Exchange a signed challenge for an access token",
    description:
      "Send the challenge unchanged with the account's signature (or a smart-contract wallet's ERC-1271 signature). The token names the account only and lasts AUTH_TOKEN_TTL_S; the roles it acts in are read from the chain's state on every request. Use it as `Authorization: Bearer <token>`.",
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiProblems(
    [400, "The body is not a message and a hex signature", "validation-failed"],
    [401, "Wrong signature (`invalid-signature`), a message this service did not issue for this host (`invalid-sign-in-message`), or an unknown, reused (`invalid-nonce`) or expired (`challenge-expired`) nonce", "invalid-signature"],
    [503, "The chain cannot be read for the account's roles (`chain-unavailable`)", "chain-unavailable"],
  )
  token(@Body() body: TokenRequestDto, @Origin() origin: RequestOrigin): Promise<TokenResponseDto> {
    return this.auth.token(body.message, body.signature, origin);
  }
}
