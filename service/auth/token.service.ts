import { Inject, Injectable } from "@nestjs/common";
import { getAddress, isAddress } from "ethers";
import { createSecretKey, type KeyObject } from "node:crypto";
import { sign, verify } from "jsonwebtoken";
import { AppConfig } from "../config/app-config";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { unauthorized } from "../common/problem";

const ISSUER = "consentry";
const ALGORITHM = "HS256";
/** Verified tokens remembered, so a busy client's token is checked once, not on every request. */
const VERIFIED_CACHE_TOKENS = 10_000;

/** Who a token names. What they may do is not in the token: it is read from chain state on every request. */
export interface Identity {
  address: string;
}

/** Issues and checks access tokens. Only HS256 is accepted, so `alg: none` and key confusion fail. */
@Injectable()
export class TokenService {
  /**
   * A prepared key: jsonwebtoken, given the secret as a string, first tries to parse it as a public key on
   * every call — measured at 10 % of the service's CPU under load.
   */
  private readonly key: KeyObject;
  private readonly audience: string;
  /** token → identity and expiry; only tokens that verified (a forged one is never cached). */
  private readonly verified = new Map<string, { identity: Identity; expiresAtS: number }>();

  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) deployment: Deployment,
  ) {
    if (!config.JWT_SECRET) throw new Error("JWT_SECRET is required");
    this.key = createSecretKey(Buffer.from(config.JWT_SECRET, "utf8"));
    // Tokens are valid for one deployment only.
    this.audience = `${deployment.chainId}:${deployment.contracts.ConsentRegistry.address.toLowerCase()}`;
  }

  issue(identity: Identity): { token: string; expiresAt: Date } {
    const ttl = this.config.AUTH_TOKEN_TTL_S;
    const token = sign({}, this.key, { algorithm: ALGORITHM, expiresIn: ttl, issuer: ISSUER, audience: this.audience, subject: identity.address });
    return { token, expiresAt: new Date(Date.now() + ttl * 1000) };
  }

  verify(token: string): Identity {
    const nowS = Date.now() / 1000;
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtS > nowS) return known.identity;
      this.verified.delete(token);
      throw unauthorized("token-expired", "The access token has expired");
    }
    let claims: { sub?: unknown; exp?: unknown; iat?: unknown; aud?: unknown };
    try {
      claims = verify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER, audience: this.audience }) as typeof claims;
    } catch (error) {
      const expired = (error as Error).name === "TokenExpiredError";
      throw unauthorized(expired ? "token-expired" : "invalid-token", expired ? "The access token has expired" : "The access token is invalid");
    }
    // jsonwebtoken accepts a token without `exp` or `iat`, and an `aud` array that merely contains ours:
    // ours always carry both times and exactly one audience.
    if (typeof claims.sub !== "string" || !isAddress(claims.sub) || typeof claims.exp !== "number" || typeof claims.iat !== "number" || claims.aud !== this.audience) {
      throw unauthorized("invalid-token", "The access token is invalid");
    }
    const identity = { address: getAddress(claims.sub) };
    if (this.verified.size >= VERIFIED_CACHE_TOKENS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { identity, expiresAtS: claims.exp });
    return identity;
  }
}
