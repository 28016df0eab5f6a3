import { Injectable } from "@nestjs/common";
import { AuthorityService } from "../auth/authority.service";
import { BoundedCache } from "../common/bounded-cache";
import { badRequest, unavailable } from "../common/problem";
import type { ConsentEntity } from "../projection/consent.entity";
import { ConsentIndexer } from "../projection/consent-indexer";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import { decide, type ConsentDecision } from "./decide";
import { CATEGORIES, isValidCategoryMask, isValidPurposeMask } from "../domain/vocabulary";
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
    const state = await this.load(input);
    return input.categories.map((categories) => ({ ...state.decide(categories), ...state.stamp }));
  }

  /**
   * A question over several categories answered as far as it can be (HL7 LEAP's partial permit): the whole
   * question when one consent permits all of it; else the largest part one active consent permits (the
   * rest withheld); else the rule's answer for the whole question (deny if a deny overlaps, else no consent).
   * One consent decides, so the access event records a permit the chain itself would give for exactly the
   * categories released.
   */
  async decideCoverage(input: DecisionInput): Promise<CoverageResult> {
    if (!isValidCategoryMask(input.categories)) throw badRequest("invalid-categories", "Unknown or empty data categories");
    const state = await this.load(input);
    const whole = state.decide(input.categories);
    if (whole.outcome === "permit") return { ...whole, ...state.stamp, categories: input.categories, withheld: 0 };
    const bits = CATEGORIES.map((c) => 1 << c.bit).filter((bit) => input.categories & bit);
    const each = bits.map((bit) => ({ bit, ...state.decide(bit) }));
    const permitted = each.filter((d) => d.outcome === "permit");
    if (permitted.length === 0) return { ...whole, ...state.stamp, categories: input.categories, withheld: input.categories };
    let released = permitted.reduce((mask, d) => mask | d.bit, 0);
    let decided = state.decide(released);
    if (decided.outcome !== "permit") {
      // No one consent permits every permitted category: keep the largest part one of them permits.
      const byConsent = new Map<string, number>();
      for (const d of permitted) byConsent.set(d.consentId!, (byConsent.get(d.consentId!) ?? 0) | d.bit);
      released = [...byConsent.values()].reduce((best, mask) => (popcount(mask) > popcount(best) ? mask : best), 0);
      decided = state.decide(released);
    }
    return { ...decided, ...state.stamp, categories: released, withheld: input.categories & ~released };
  }

  /** The consent state one decision reads: the patient's consents and the requester's membership, at one access time. */
  private async load(input: Omit<DecisionInput, "categories">) {
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
    return {
      stamp: { at, timeMs, basedOnBlock: freshness.blockNumber },
      decide: (categories: number): ConsentDecision => decide(consents, { requester, requesterWasInstitution, categories, purposes: input.purposes, at }),
    };
  }
}

/** What `decideCoverage` answers: the decision for `categories`, and what of the question it withholds. */
export interface CoverageResult extends DecisionResult {
  /** The categories the decision is about: those released for a permit, the whole question otherwise. */
  categories: number;
  /** Categories asked for but not permitted (0 when all are). */
  withheld: number;
}

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

/**
 * The time an access happens at, in ms. Block times may run ahead of this clock, and an access after a
 * mined revocation must count as after it, so the second is never earlier than the last indexed block's;
 * the milliseconds keep the clock's, so events within that second stay ordered.
 */
export function accessTimeMs(nowMs: number, lastBlockTimestamp: number): number {
  return nowMs >= lastBlockTimestamp * 1000 ? nowMs : lastBlockTimestamp * 1000 + (nowMs % 1000);
}
