import { Injectable } from "@nestjs/common";
import { ChainService } from "../chain/chain.service";
import { BoundedCache } from "../common/bounded-cache";
import { unavailable } from "../common/problem";
import { ROLES, type Role, type RoleName } from "../domain/roles";
import { PatientRepository } from "../patients/patient.repository";
import { ConsentIndexer } from "../projection/consent-indexer";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import type { Actor } from "./actor";

/** Accounts whose roles are remembered per indexed block. */
const ROLE_CACHE_ENTRIES = 10_000;

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
  /** Roles per account and indexed block (hash): what the guard asks on every request. */
  private readonly roles = new BoundedCache<string, Role[]>(ROLE_CACHE_ENTRIES);
  private readonly rolesAt = new BoundedCache<string, boolean>(ROLE_CACHE_ENTRIES);

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
    const freshness = await this.indexer.freshness();
    if (!freshness.fresh) {
      throw unavailable("consent-state-unavailable", `The caller's roles cannot be established now (${freshness.reason})`, { reason: freshness.reason });
    }
    // Chain roles change only with the indexed chain; enrolment in this process forgets the entry.
    return this.roles.getOrLoad(`${address.toLowerCase()}|${freshness.blockHash}`, async () => {
      const [held, enrolled] = await Promise.all([this.projection.rolesOf(address), this.patients.isEnrolled(address)]);
      const roles: Role[] = CHAIN_ROLES.filter((role) => held.includes(ROLES[role]));
      if (enrolled) roles.push("patient");
      return roles;
    });
  }

  /** An account's enrolment changed (enrolled, erased): its `patient` role is read again on its next request. */
  forgetRoles(address: string): void {
    const prefix = `${address.toLowerCase()}|`;
    this.roles.forget((key) => key.startsWith(prefix));
  }

  /** Whether the caller held `role` when its request was authenticated (the projection, at that request's block). */
  actorHolds(actor: Actor, role: Role): boolean {
    return actor.roles.includes(role);
  }

  /**
   * Whether the projection shows `account` holding `role` at `at` (unix seconds, by the blocks' timestamps),
   * as of the indexed block `version` (its hash) — remembered per version, since only new blocks change it.
   */
  heldPerProjectionAt(role: RoleName, account: string, at: number, version: string): Promise<boolean> {
    return this.rolesAt.getOrLoad(`${role}|${account.toLowerCase()}|${at}|${version}`, () => this.projection.hadRoleAt(ROLES[role], account, at));
  }

  /** Whether `account` holds `role` on the ConsentRegistry right now. */
  heldOnChain(role: RoleName, account: string): Promise<boolean> {
    return this.chain.hasRole(role, account);
  }
}
