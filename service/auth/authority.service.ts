import { Injectable } from "@nestjs/common";
import { ChainService } from "../chain/chain.service";
import { ROLES, type Role, type RoleName } from "../domain/roles";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import type { Actor } from "./actor";

/**
 * "Does this account hold this role?" — asked of one of three sources, which differ in cost and age.
 * Every caller names the one it relies on:
 * - the token: what the chain said at sign-in (free; as old as the token, up to AUTH_TOKEN_TTL_S);
 * - the projection: the role events indexed from chain, at the current indexed block (one query; at
 *   most one indexer poll behind, and decisions refuse to run on a stale projection);
 * - the chain now: a live `hasRole` call (one RPC round trip; 503 when the chain cannot answer).
 */
@Injectable()
export class AuthorityService {
  constructor(
    private readonly chain: ChainService,
    private readonly projection: ConsentProjectionRepository,
  ) {}

  /** Whether the caller's access token claims `role`. */
  claimedByToken(actor: Actor, role: Role): boolean {
    return actor.roles.includes(role);
  }

  /** Whether the consent projection shows `account` holding `role` at its current indexed block. */
  heldPerProjection(role: RoleName, account: string): Promise<boolean> {
    return this.projection.hasRole(ROLES[role], account);
  }

  /** Whether `account` holds `role` on the ConsentRegistry right now. */
  heldOnChain(role: RoleName, account: string): Promise<boolean> {
    return this.chain.hasRole(role, account);
  }
}
