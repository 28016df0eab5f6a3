import { Injectable } from "@nestjs/common";
import { ChainService } from "../chain/chain.service";
import { unavailable } from "../common/problem";
import { ROLES, type Role, type RoleName } from "../domain/roles";
import { PatientRepository } from "../patients/patient.repository";
import { ConsentIndexer } from "../projection/consent-indexer";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import type { Actor } from "./actor";

const CHAIN_ROLES: readonly Exclude<Role, "patient">[] = ["admin", "institution", "regulator", "relayer"];

/**
 * "Does this account hold this role?" — the one place that answers it. A token carries identity only;
 * what its bearer may do is read afresh for every request. Two sources, which differ in cost and age,
 * and every caller names the one it relies on:
 * - the projection: role events indexed from chain, at the current indexed block (a query; at most one
 *   indexer poll behind the chain, and refused with 503 when the projection is stale or cut off). The
 *   guard resolves every request's roles this way, so `actorHolds` answers from them;
 * - the chain now: a live `hasRole` call (one RPC round trip; 503 when the chain cannot answer), for
 *   writes and other actions that must not trail the chain by even one poll.
 */
@Injectable()
export class AuthorityService {
  constructor(
    private readonly chain: ChainService,
    private readonly projection: ConsentProjectionRepository,
    private readonly indexer: ConsentIndexer,
    private readonly patients: PatientRepository,
  ) {}

  /**
   * The roles `address` holds at the current indexed block (plus `patient` once enrolled). Fails closed:
   * a stale or cut-off projection cannot establish authority, so the request is refused with 503.
   */
  async rolesAtRequest(address: string): Promise<Role[]> {
    const [freshness, held, enrolled] = await Promise.all([
      this.indexer.freshness(),
      this.projection.rolesOf(address),
      this.patients.isEnrolled(address),
    ]);
    if (!freshness.fresh) {
      throw unavailable("consent-state-unavailable", `The caller's roles cannot be established now (${freshness.reason})`, { reason: freshness.reason });
    }
    const roles: Role[] = CHAIN_ROLES.filter((role) => held.includes(ROLES[role]));
    if (enrolled) roles.push("patient");
    return roles;
  }

  /** Whether the caller held `role` when its request was authenticated (the projection, at that request's block). */
  actorHolds(actor: Actor, role: Role): boolean {
    return actor.roles.includes(role);
  }

  /** Whether the consent projection shows `account` holding `role` at its current indexed block. */
  heldPerProjection(role: RoleName, account: string): Promise<boolean> {
    return this.projection.hasRole(ROLES[role], account);
  }

  /** Whether the projection shows `account` holding `role` at `at` (unix seconds, by the blocks' timestamps). */
  heldPerProjectionAt(role: RoleName, account: string, at: number): Promise<boolean> {
    return this.projection.hadRoleAt(ROLES[role], account, at);
  }

  /** Whether `account` holds `role` on the ConsentRegistry right now. */
  heldOnChain(role: RoleName, account: string): Promise<boolean> {
    return this.chain.hasRole(role, account);
  }
}
