import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from "@nestjs/common";
import { getAddress } from "ethers";
import { randomBytes } from "node:crypto";
import { DEPLOYMENT } from "../chain/chain.tokens";
import { SignatureVerifier } from "../chain/signature-verifier";
import type { Deployment } from "../chain/deployment";
import { AppConfig } from "../config/app-config";
import { unauthorized, unavailable } from "../common/problem";
import { PatientRepository } from "../patients/patient.repository";
import type { Role } from "./actor";
import { AuthorityService } from "./authority.service";
import { AuthNonceRepository } from "./auth-nonce.repository";
import type { ChallengeResponseDto, TokenResponseDto } from "./auth.dto";
import { formatSiweMessage, parseSiweMessage, SIWE_STATEMENT } from "./siwe-message";
import { signInOrigin, type RequestOrigin } from "./sign-in-origin";
import { TokenService } from "./token.service";

/** Unanswered challenges kept per address: a new one beyond this replaces the oldest. */
export const CHALLENGES_PER_ADDRESS = 5;
/** Unanswered challenges kept in all; beyond this, sign-in answers 503 until some expire. */
export const CHALLENGES_OUTSTANDING_MAX = 100_000;
/** How often expired challenges are deleted. */
const CHALLENGE_SWEEP_MS = 60_000;
const CHAIN_ROLES: Array<Exclude<Role, "patient">> = ["admin", "institution", "regulator", "relayer"];

/** Sign-In with Ethereum: a one-time challenge, a signature over it, a short-lived token. */
@Injectable()
export class AuthService implements OnModuleInit, OnModuleDestroy {
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly nonces: AuthNonceRepository,
    private readonly tokens: TokenService,
    private readonly authority: AuthorityService,
    private readonly signatures: SignatureVerifier,
    private readonly patients: PatientRepository,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.nonces.deleteExpiredBefore(new Date()).catch(() => undefined), CHALLENGE_SWEEP_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** A one-time EIP-4361 message for `address`, naming the origin the client reached this service at. */
  async challenge(address: string, request: RequestOrigin): Promise<ChallengeResponseDto> {
    const origin = signInOrigin(this.config, request);
    const nonce = randomBytes(16).toString("hex");
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + this.config.AUTH_CHALLENGE_TTL_S * 1000);
    // Each challenge is a row until it expires: bounded per address (an anonymous flood for one address
    // only replaces its own) and in all (a flood over many addresses is refused, not stored).
    if ((await this.nonces.countOutstanding(issuedAt)) >= CHALLENGES_OUTSTANDING_MAX) {
      throw unavailable("sign-in-busy", "Too many sign-in challenges are outstanding; try again shortly");
    }
    await this.nonces.create(nonce, address, expiresAt, CHALLENGES_PER_ADDRESS);
    const message = formatSiweMessage({
      domain: origin.domain,
      address: getAddress(address),
      statement: SIWE_STATEMENT,
      uri: origin.uri,
      version: "1",
      chainId: this.deployment.chainId,
      nonce,
      issuedAt: issuedAt.toISOString(),
      expirationTime: expiresAt.toISOString(),
    });
    return { message, nonce, expiresAt: expiresAt.toISOString() };
  }

  async token(message: string, signature: string, request: RequestOrigin): Promise<TokenResponseDto> {
    const origin = signInOrigin(this.config, request);
    const fields = parseSiweMessage(message);
    // Every field this service put in the challenge must come back unchanged, so a page that reworded it
    // (another statement or URI shown to the user) cannot use the signature.
    if (
      !fields ||
      fields.domain !== origin.domain ||
      fields.chainId !== this.deployment.chainId ||
      fields.statement !== SIWE_STATEMENT ||
      fields.uri !== origin.uri
    ) {
      throw unauthorized("invalid-sign-in-message", "The message is not a sign-in challenge issued by this service");
    }
    if (!(await this.signatures.isValidMessage(fields.address, message, signature))) {
      throw unauthorized("invalid-signature", "The message was not signed by its account");
    }
    const now = new Date();
    if (new Date(fields.expirationTime) <= now) throw unauthorized("challenge-expired", "The sign-in challenge has expired");
    // Roles first: if the chain cannot be read, the signed challenge stays usable for a retry.
    const roles = await this.rolesOf(fields.address);
    const outcome = await this.nonces.consume(fields.nonce, fields.address, now);
    if (outcome !== "consumed") {
      const detail = { unknown: "was not issued by this service", used: "was already used", expired: "has expired" }[outcome];
      throw unauthorized(outcome === "expired" ? "challenge-expired" : "invalid-nonce", `The sign-in nonce ${detail}`);
    }
    // The token names the account only; the roles it acts in are read again on every request.
    const { token, expiresAt } = this.tokens.issue({ address: fields.address });
    return { accessToken: token, tokenType: "Bearer", expiresAt: expiresAt.toISOString(), address: fields.address, roles };
  }

  private async rolesOf(address: string): Promise<Role[]> {
    const held = await Promise.all(CHAIN_ROLES.map((role) => this.authority.heldOnChain(role, address)));
    const roles: Role[] = CHAIN_ROLES.filter((_, i) => held[i]);
    if (await this.patients.isEnrolled(address)) roles.push("patient");
    return roles;
  }
}
