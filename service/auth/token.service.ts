import { Inject, Injectable } from "@nestjs/common";
import { JwtService } from "@nestjs/jwt";
import { getAddress, isAddress } from "ethers";
import { AppConfig } from "../config/app-config";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { unauthorized } from "../common/problem";

const ISSUER = "consentry";
const ALGORITHM = "HS256";

/** Who a token names. What they may do is not in the token: it is read from chain state on every request. */
export interface Identity {
  address: string;
}

/** Issues and checks access tokens. Only HS256 is accepted, so `alg: none` and key confusion fail. */
@Injectable()
export class TokenService {
  private readonly jwt: JwtService;
  private readonly audience: string;

  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) deployment: Deployment,
  ) {
    if (!config.JWT_SECRET) throw new Error("JWT_SECRET is required");
    this.jwt = new JwtService({ secret: config.JWT_SECRET });
    // Tokens are valid for one deployment only.
    this.audience = `${deployment.chainId}:${deployment.contracts.ConsentRegistry.address.toLowerCase()}`;
  }

  issue(identity: Identity): { token: string; expiresAt: Date } {
    const ttl = this.config.AUTH_TOKEN_TTL_S;
    const token = this.jwt.sign({}, { algorithm: ALGORITHM, expiresIn: ttl, issuer: ISSUER, audience: this.audience, subject: identity.address });
    return { token, expiresAt: new Date(Date.now() + ttl * 1000) };
  }

  verify(token: string): Identity {
    let claims: { sub?: unknown; exp?: unknown; iat?: unknown; aud?: unknown };
    try {
      claims = this.jwt.verify(token, { algorithms: [ALGORITHM], issuer: ISSUER, audience: this.audience });
    } catch (error) {
      const expired = (error as Error).name === "TokenExpiredError";
      throw unauthorized(expired ? "token-expired" : "invalid-token", expired ? "The access token has expired" : "The access token is invalid");
    }
    // jsonwebtoken accepts a token without `exp` or `iat`, and an `aud` array that merely contains ours:
    // ours always carry both times and exactly one audience.
    if (typeof claims.sub !== "string" || !isAddress(claims.sub) || typeof claims.exp !== "number" || typeof claims.iat !== "number" || claims.aud !== this.audience) {
      throw unauthorized("invalid-token", "The access token is invalid");
    }
    return { address: getAddress(claims.sub) };
  }
}
