import { Injectable } from "@nestjs/common";
import { AuthorityService } from "../auth/authority.service";
import { BoundedCache } from "../common/bounded-cache";
import { badRequest, unavailable } from "../common/problem";
import type { ConsentEntity } from "../projection/consent.entity";
import { ConsentIndexer } from "../projection/consent-indexer";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import { decide, type ConsentDecision } from "./decide";
import { isValidCategoryMask, isValidPurposeMask } from "../domain/vocabulary";
import { checksummed } from "../domain/checksum";

/** Patients whose consents are remembered per indexed block. */
const CONSENT_CACHE_PATIENTS = 10_000;

export interface DecisionInput {
  patient: string;
  requester: string;
  categories: number;
  purposes: number;
  /** Unix seconds to decide for; defaults to the access time (see `accessTimeMs`). */
  at?: number;
}

export interface DecisionResult extends ConsentDecision {
  /** Unix seconds the decision was made for: floor(timeMs / 1000). */
  at: number;
  /** The access time in ms, to record with the access event. */
  timeMs: number;
  basedOnBlock: number;
}

/**
 * Answers consent questions from the projection — only while it is fresh. If the chain cannot be
 * reached or the projection lags, it refuses (503) rather than risk a stale permit.
 */
@Injectable()
export class DecisionService {
  private readonly consents = new BoundedCache<string, ConsentEntity[]>(CONSENT_CACHE_PATIENTS);

  constructor(
    private readonly indexer: ConsentIndexer,
    private readonly projection: ConsentProjectionRepository,
    private readonly authority: AuthorityService,
  ) {}

  async decide(input: DecisionInput): Promise<DecisionResult> {
    return (await this.decideEach({ ...input, categories: [input.categories] }))[0];
  }

  /**
   * Several category questions about one patient, answered from one read of the projection at one
   * access time — what a search spanning categories needs, without a round trip per category.
   */
  async decideEach(input: Omit<DecisionInput, "categories"> & { categories: number[] }): Promise<DecisionResult[]> {
    for (const categories of input.categories) {
      if (!isValidCategoryMask(categories)) throw badRequest("invalid-categories", "Unknown or empty data categories");
    }
    if (!isValidPurposeMask(input.purposes)) throw badRequest("invalid-purposes", "Unknown or empty purposes");
    const freshness = await this.indexer.freshness();
    if (!freshness.fresh) {
      throw unavailable("consent-state-unavailable", `Consent state cannot be established now (${freshness.reason})`, {
        reason: freshness.reason,
      });
    }
    const timeMs = input.at !== undefined ? input.at * 1000 : accessTimeMs(Date.now(), freshness.blockTimestamp);
    const at = Math.floor(timeMs / 1000);
    const version = freshness.blockHash;
    const [consents, requesterWasInstitution] = await Promise.all([
      // A patient's consents change only with the indexed chain: remembered per indexed block.
      this.consents.getOrLoad(`${input.patient.toLowerCase()}|${version}`, () => this.projection.consentsOf(input.patient)),
      // Permits count for institutions only, and membership is taken at the instant decided (as on chain).
      this.authority.heldPerProjectionAt("institution", input.requester, at, version),
    ]);
    const requester = checksummed(input.requester);
    return input.categories.map((categories) => ({
      ...decide(consents, { requester, requesterWasInstitution, categories, purposes: input.purposes, at }),
      at,
      timeMs,
      basedOnBlock: freshness.blockNumber,
    }));
  }
}

/**
 * The time an access happens at, in ms. Block times may run ahead of this clock, and an access after a
 * mined revocation must count as after it, so the second is never earlier than the last indexed block's;
 * the milliseconds keep the clock's, so events within that second stay ordered.
 */
export function accessTimeMs(nowMs: number, lastBlockTimestamp: number): number {
  return nowMs >= lastBlockTimestamp * 1000 ? nowMs : lastBlockTimestamp * 1000 + (nowMs % 1000);
}
