import { Inject, Injectable } from "@nestjs/common";
import { getAddress, ZeroAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { ChainService } from "../chain/chain.service";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { SignatureVerifier } from "../chain/signature-verifier";
import { TransactionService } from "../chain/transactions/transaction.service";
import { AccessAction, AccessDecision } from "../domain/access-codes";
import { AccessLogService, type Audited, type RequestFacts } from "../audit/access-log.service";
import { badRequest, conflict, forbidden, notFound, unavailable } from "../common/problem";
import { PatientRepository } from "../patients/patient.repository";
import { consentIdOf } from "./consent-id";
import { ConsentIndexer } from "../projection/consent-indexer";
import { toConsentView } from "./consent.mapper";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import type { ConsentEntity } from "../projection/consent.entity";
import type { ConsentSubmissionDto, GrantConsentDto, PatientNonceDto, RevokeConsentDto } from "./consents.dto";
import { ConsentQueryService } from "./consent-query.service";
import { consentDomain, GRANT_TYPES, REVOKE_TYPES } from "../domain/eip712";
import { problemFromRelayFailure } from "./relay-problems";
import { isValidCategoryMask, isValidPurposeMask } from "../domain/vocabulary";

/** How long `wait: true` waits for a relayed transaction to be mined and indexed. */
export const RELAY_WAIT_TIMEOUT_MS = 30_000;

/**
 * Relays patients' signed grants and revocations, each recorded in the access trail whatever its outcome. Everything a contract would reject is checked here
 * first, so a bad request never costs a transaction; the contract checks again.
 */
@Injectable()
export class ConsentRelayService {
  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly chain: ChainService,
    private readonly signatures: SignatureVerifier,
    private readonly transactions: TransactionService,
    private readonly projection: ConsentProjectionRepository,
    private readonly indexer: ConsentIndexer,
    private readonly patients: PatientRepository,
    private readonly accessLog: AccessLogService,
    private readonly authority: AuthorityService,
    private readonly query: ConsentQueryService,
  ) {}

  /** The nonce the patient's next grant must carry, read from the chain at its latest block. */
  async nextNonce(patient: string): Promise<PatientNonceDto> {
    const address = getAddress(patient);
    const { nonce, blockNumber } = await this.chain.read(async () => {
      const blockNumber = await this.chain.provider.getBlockNumber();
      return { blockNumber, nonce: (await this.chain.registry.nonces(address, { blockTag: blockNumber })) as bigint };
    });
    return { patient: address, nonce: nonce.toString(), blockNumber };
  }

  /** Relays a signed grant and records the attempt in the access log, whatever its outcome. */
  async grant(actor: Actor, dto: GrantConsentDto, request: RequestFacts): Promise<ConsentSubmissionDto> {
    const t = dto.terms;
    return this.accessLog.audited(
      { actor: actor.address, patient: t.patient, action: AccessAction.ConsentGrant, categories: t.categories, purposes: t.purposes, request },
      async () => relayed(await this.relayGrant(actor, dto)),
    );
  }

  async revoke(actor: Actor, consentId: string, dto: RevokeConsentDto, request: RequestFacts): Promise<ConsentSubmissionDto> {
    const consent = await this.projection.findConsent(consentId);
    return this.accessLog.audited(
      {
        actor: actor.address,
        patient: consent?.patient,
        action: AccessAction.ConsentRevoke,
        categories: consent?.categories,
        purposes: consent?.purposes,
        consentId: consent?.consentId,
        request,
      },
      async () => relayed(await this.relayRevoke(actor, consentId, consent, dto)),
    );
  }

  private async relayGrant(actor: Actor, dto: GrantConsentDto): Promise<ConsentSubmissionDto> {
    const terms = { ...dto.terms, patient: getAddress(dto.terms.patient), grantee: getAddress(dto.terms.grantee) };
    this.assertMayRelayFor(actor, terms.patient);
    const now = nowSeconds();
    if (!isValidCategoryMask(terms.categories)) throw badRequest("invalid-categories", "Unknown or empty data categories", `categories ${terms.categories} is not a valid category mask`);
    if (!isValidPurposeMask(terms.purposes)) throw badRequest("invalid-purposes", "Unknown or empty purposes", `purposes ${terms.purposes} is not a valid purpose mask`);
    if (terms.validUntil !== 0 && (terms.validUntil <= terms.validFrom || terms.validUntil <= now)) {
      throw badRequest("invalid-validity", "Empty validity window", "validUntil must be 0 or later than both validFrom and now");
    }
    this.assertDeadline(dto.deadline, now);
    if (!(await this.patients.isEnrolled(terms.patient))) {
      throw badRequest("patient-not-enrolled", "Patient not enrolled", "The patient has not enrolled with any custodian institution");
    }
    if (terms.grantee !== ZeroAddress && !(await this.authority.heldOnChain("institution", terms.grantee))) {
      throw badRequest("grantee-not-institution", "Grantee is not an institution", `${terms.grantee} does not hold the institution role`);
    }
    const nonce = await this.assertNonce(terms.patient, dto.nonce);
    const signed = { ...terms, nonce, deadline: dto.deadline };
    if (!(await this.signatures.isValid(terms.patient, consentDomain(this.deployment), GRANT_TYPES, signed, dto.signature))) {
      throw badRequest("invalid-signature", "Invalid signature", "The terms are not signed by the patient for this chain and contract");
    }
    const consentId = consentIdOf(terms, nonce);
    const data = this.chain.registry.interface.encodeFunctionData("grantBySig", [terms, nonce, dto.deadline, dto.signature]);
    return this.relay("consent.grant", consentId, data, dto.wait, "active");
  }

  private async relayRevoke(actor: Actor, consentId: string, consent: ConsentEntity | null, dto: RevokeConsentDto): Promise<ConsentSubmissionDto> {
    if (!consent || !this.query.mayView(actor, consent)) throw notFound("consent-not-found", `No consent ${consentId}`);
    this.assertMayRelayFor(actor, consent.patient);
    if (consent.revokedAt) throw conflict("consent-already-revoked", "Consent already revoked", `Revoked at ${consent.revokedAt}`);
    this.assertDeadline(dto.deadline, nowSeconds());
    const signed = { consentId: consent.consentId, deadline: dto.deadline };
    if (!(await this.signatures.isValid(consent.patient, consentDomain(this.deployment), REVOKE_TYPES, signed, dto.signature))) {
      throw badRequest("invalid-signature", "Invalid signature", "The revocation is not signed by the consent's patient");
    }
    const data = this.chain.registry.interface.encodeFunctionData("revokeBySig", [consent.consentId, dto.deadline, dto.signature]);
    return this.relay("consent.revoke", consent.consentId, data, dto.wait, "revoked");
  }

  /** The patient acts for themself; an institution may relay a patient's signature (e.g. from a kiosk). */
  private assertMayRelayFor(actor: Actor, patient: string): void {
    if (actor.address.toLowerCase() === patient.toLowerCase() || this.authority.actorHolds(actor, "institution")) return;
    throw forbidden("not-consent-patient", "Only the patient, or an institution relaying the patient's signature, may do this");
  }

  private assertDeadline(deadline: number, now: number): void {
    if (deadline < now) throw badRequest("signature-expired", "Signature expired", `The deadline ${deadline} has passed`);
  }

  private async assertNonce(patient: string, given: string): Promise<bigint> {
    const current = await this.chain.nonceOf(patient);
    const nonce = BigInt(given);
    if (nonce < current) throw conflict("nonce-used", "Nonce already used", `The patient's next nonce is ${current}`);
    if (nonce > current) throw badRequest("nonce-invalid", "Nonce out of order", `The patient's next nonce is ${current}`);
    return nonce;
  }

  private async relay(
    kind: "consent.grant" | "consent.revoke",
    consentId: string,
    data: string,
    wait: boolean | undefined,
    doneStatus: "active" | "revoked",
  ): Promise<ConsentSubmissionDto> {
    const to = this.deployment.contracts.ConsentRegistry.address;
    let tracked;
    try {
      tracked = await this.transactions.forSigner("relayer").submit({ to, data, kind, ref: consentId });
      if (!wait) {
        // Index it the moment it is mined rather than at the next poll: a revocation must bite at once.
        void tracked
          .wait({ timeoutMs: RELAY_WAIT_TIMEOUT_MS })
          .then((mined) => this.indexer.waitForBlock(mined.blockNumber, RELAY_WAIT_TIMEOUT_MS))
          .catch(() => undefined);
        return { consentId, status: "pending", transaction: { id: String(tracked.id), hash: tracked.hash ?? undefined, state: "sent" } };
      }
      const mined = await tracked.wait({ timeoutMs: RELAY_WAIT_TIMEOUT_MS });
      if (!(await this.indexer.waitForBlock(mined.blockNumber, RELAY_WAIT_TIMEOUT_MS))) {
        throw unavailable("indexer-behind", "The transaction is mined but the consent projection has not caught up yet");
      }
      const consent = await this.projection.findConsent(consentId);
      return {
        consentId,
        status: doneStatus,
        transaction: { id: String(tracked.id), hash: mined.hash, state: mined.state, blockNumber: mined.blockNumber },
        consent: consent ? toConsentView(consent) : undefined,
      };
    } catch (error) {
      throw problemFromRelayFailure(error);
    }
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A relayed grant or revocation, as the access trail records it: the change is on its way to the chain. */
const relayed = (submission: ConsentSubmissionDto): Audited<ConsentSubmissionDto> => ({
  value: submission,
  outcome: { decision: AccessDecision.Recorded, consentId: submission.consentId },
});
