import { Inject, Injectable } from "@nestjs/common";
import { getAddress, ZeroAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { ChainService } from "../chain/chain.service";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { TransactionService } from "../chain/transactions/transaction.service";
import type { TrackedTransaction, TransactionOutcome } from "../chain/transactions/tracked-transaction";
import { badRequest, conflict, forbidden, notFound, Problem, unavailable } from "../common/problem";
import { ROLES } from "../domain/roles";
import { ConsentIndexer } from "../projection/consent-indexer";
import { ConsentProjectionRepository, type RoleChange } from "../projection/consent-projection.repository";
import { InstitutionNameRepository } from "./institution-name.repository";
import type { InstitutionNameEntity } from "./institution-name.entity";
import type { InstitutionDirectoryDto, InstitutionDto, InstitutionRegistrationDto, RegisterInstitutionDto } from "./institutions.dto";
import { toInstitution } from "./institution.mapper";

/** How long `wait: true` waits for the role grant to be mined and indexed. */
export const REGISTRATION_WAIT_TIMEOUT_MS = 30_000;

/** What `chain_transactions` calls a registration's role grant; its ref is the institution's lower-case address. */
const GRANT_KIND = "institution.grant";

/**
 * The institution directory: who holds the institution role as the projection indexed it from chain, with the
 * names the registry's admin gave them. Registering grants the role on chain with the service's registrar key
 * and records the name; repeating a registration changes nothing.
 */
@Injectable()
export class InstitutionDirectoryService {
  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly chain: ChainService,
    private readonly authority: AuthorityService,
    private readonly transactions: TransactionService,
    private readonly projection: ConsentProjectionRepository,
    private readonly indexer: ConsentIndexer,
    private readonly names: InstitutionNameRepository,
  ) {}

  async list(): Promise<InstitutionDirectoryDto> {
    const [changes, names, freshness] = await Promise.all([
      this.projection.latestRoleChanges(ROLES.institution),
      this.names.all(),
      this.indexer.freshness(),
    ]);
    const byAccount = new Map<string, { change?: RoleChange; name?: InstitutionNameEntity }>();
    for (const change of changes) byAccount.set(change.account, { change });
    for (const name of names) byAccount.set(name.address, { ...byAccount.get(name.address), name });
    const institutions = [...byAccount.entries()]
      .map(([account, { change, name }]) => toInstitution(account, change, name))
      .sort(byName);
    return { basedOnBlock: freshness.blockNumber, institutions };
  }

  /** One account's entry; 404 when it never held the role and has no name. */
  async find(address: string): Promise<InstitutionDto> {
    const entry = await this.entryOf(address);
    if (entry.name === null && entry.block === null) throw notFound("institution-not-found", "The account is not in the institution directory");
    return entry;
  }

  private async entryOf(address: string): Promise<InstitutionDto> {
    const account = address.toLowerCase();
    const [change, name] = await Promise.all([this.projection.latestRoleChange(ROLES.institution, account), this.names.find(account)]);
    return toInstitution(account, change, name ?? undefined);
  }

  /**
   * Grants the institution role on chain unless the account holds it (or a grant is on its way), and records
   * the name. Only the registry's admin or registrar may, as the chain says now.
   */
  async register(actor: Actor, dto: RegisterInstitutionDto): Promise<InstitutionRegistrationDto> {
    const [admin, registrar] = await Promise.all([this.authority.heldOnChain("admin", actor.address), this.authority.heldOnChain("registrar", actor.address)]);
    if (!admin && !registrar) throw forbidden("role-required", "Only the registry's admin or registrar may register institutions");
    const address = getAddress(dto.address);
    if (address === ZeroAddress) throw badRequest("invalid-institution", "Invalid institution", "The zero address means every institution in a consent and cannot be one");
    const nameKey = nameKeyOf(dto.name);
    const holder = await this.names.findByNameKey(nameKey);
    if (holder && holder.address !== address.toLowerCase()) {
      throw conflict("institution-name-in-use", "Name in use", "Another institution already has this name");
    }

    let grant: TrackedTransaction | undefined;
    if (!(await this.authority.heldOnChain("institution", address))) grant = await this.grantRole(address);
    let named;
    try {
      named = await this.names.assign(address, dto.name, nameKey, actor.address);
    } catch (error) {
      if ((error as { code?: string }).code === "23505") throw conflict("institution-name-in-use", "Name in use", "Another institution already has this name");
      throw error;
    }

    const mined = grant && dto.wait ? await this.waitIndexed(grant) : undefined;
    const institution = await this.entryOf(address);
    return {
      status: institution.holdsRole ? "registered" : "pending",
      changed: grant !== undefined || named !== "unchanged",
      institution,
      ...(grant
        ? { transaction: mined ? { id: String(grant.id), hash: mined.hash, state: mined.state, blockNumber: mined.blockNumber } : { id: String(grant.id), hash: grant.hash, state: grant.state } }
        : {}),
    };
  }

  /** The grant on its way for `address`, or a new one. */
  private async grantRole(address: string): Promise<TrackedTransaction> {
    try {
      const writer = this.transactions.forSigner("registrar");
      const ref = address.toLowerCase();
      const pending = await writer.findByRef(GRANT_KIND, ref);
      if (pending && (pending.state === "created" || pending.state === "sent")) return pending;
      const data = this.chain.registry.interface.encodeFunctionData("grantRole", [ROLES.institution, address]);
      return await writer.submit({ to: this.deployment.contracts.ConsentRegistry.address, data, kind: GRANT_KIND, ref });
    } catch (error) {
      throw problemFromGrantFailure(error);
    }
  }

  private async waitIndexed(grant: TrackedTransaction): Promise<TransactionOutcome> {
    try {
      const mined = await grant.wait({ timeoutMs: REGISTRATION_WAIT_TIMEOUT_MS });
      if (!(await this.indexer.waitForBlock(mined.blockNumber, REGISTRATION_WAIT_TIMEOUT_MS))) {
        throw unavailable("indexer-behind", "The role grant is mined but the projection has not caught up yet");
      }
      return mined;
    } catch (error) {
      throw problemFromGrantFailure(error);
    }
  }
}

/** Names compare without regard to case or spacing: "Northside  lab" is "Northside Lab". */
export function nameKeyOf(name: string): string {
  return name.trim().replace(/\s+/g, " ").normalize("NFKC").toLowerCase();
}

function byName(a: InstitutionDto, b: InstitutionDto): number {
  if (a.name !== null && b.name !== null) return a.name.localeCompare(b.name, "en");
  if (a.name !== null) return -1;
  if (b.name !== null) return 1;
  return a.address.localeCompare(b.address);
}

function problemFromGrantFailure(error: unknown): unknown {
  if (error instanceof Problem) return error;
  const e = error as { name?: string; errorName?: string };
  if (e?.name === "TransactionRevertedError") {
    if (e.errorName === "AccessControlUnauthorizedAccount") {
      return unavailable("registrar-not-authorized", "The service's registrar key lacks REGISTRAR_ROLE on the registry");
    }
    return badRequest("transaction-reverted", "The chain rejected the transaction", e.errorName);
  }
  if (e?.name === "ChainUnavailableError" || e?.name === "TransactionTimeoutError") {
    return unavailable("chain-unavailable", "The chain could not be reached; the registration can be repeated");
  }
  return error;
}
