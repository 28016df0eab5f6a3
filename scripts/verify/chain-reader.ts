import { Contract, JsonRpcProvider, Network, isCallException } from "ethers";
import { BoundedMap } from "./bounded-map";
import type { DeploymentInfo } from "./deployment-file";

/**
 * The verifier's only view of the chain: a handful of view calls, with bounded caches. The ABIs are
 * embedded (human-readable, from contracts/interfaces) rather than loaded from artifacts/, so the
 * verifier needs nothing from the service's build.
 */
export const ACCESS_LEDGER_ABI = [
  "function getBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq) view returns (tuple(bytes32 root, uint8 status, uint256 supersededBy))",
  "function batchCount() view returns (uint256)",
  "event BatchAnchored(uint256 indexed batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq)",
  "error BatchNotFound(uint256 batchId)",
  "error BatchRangeMismatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq)",
];

export const CONSENT_REGISTRY_ABI = [
  "function getConsent(bytes32 consentId) view returns (tuple(tuple(address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms, uint64 grantedAt, uint64 revokedAt))",
  "function consentsOf(address patient) view returns (bytes32[])",
  "function decide(address patient, address requester, uint256 categories, uint256 purposes, uint64 at) view returns (uint8 decision, bytes32 consentId)",
  "function institutionHistory(address account) view returns (tuple(uint64 at, bool member)[])",
  "error ConsentNotFound(bytes32 consentId)",
  "error InvalidCategories(uint256 categories)",
  "error InvalidPurposes(uint256 purposes)",
];

const ZERO_ID = "0x" + "00".repeat(32);

/** ConsentRegistry.Decision. */
export const ChainDecision = { NoConsent: 0, Permit: 1, Deny: 2 } as const;

/** ConsentRegistry v2's AccessLedger.BatchStatus. */
export const BatchStatus = { Anchored: 0, Void: 1, Superseded: 2 } as const;

/** A batch as AccessLedger v2 holds it under the range it was asked with; `rangeMismatch` when it holds another. */
export type OnChainBatch = { root: string; status: number; supersededBy: number } | { rangeMismatch: true };

/** When an account was an institution: the chain's membership record, oldest change first. */
interface MembershipHistory {
  changes: Array<{ at: number; member: boolean }>;
  /** Only instants before the chain's clock when it was read are final. */
  finalBefore: number;
}

/** A consent as stored on chain; addresses in lower case, times in unix seconds. */
export interface OnChainConsent {
  id: string;
  patient: string;
  grantee: string;
  categories: bigint;
  purposes: bigint;
  effect: number;
  validFrom: number;
  validUntil: number;
  grantedAt: number;
  revokedAt: number;
}

export interface ChainDecisionResult {
  decision: number;
  consentId: string;
  /** Set, instead of a decision, when decide() refuses the question itself (no or unknown category or purpose bits). */
  invalid?: string;
}

/**
 * The times at which any of a patient's consents starts or stops being active. decide() reads only the
 * patient's consents and the requester's membership at `at` (whose change times are the membership
 * history's), so for one requester its answer is the same for every `at` between
 * two consecutive boundaries: one call per interval instead of one per second of trail.
 */
interface ConsentTimeline {
  boundaries: number[];
  /** Only times strictly before the chain's clock when the list was read are final: later grants and
   *  revocations get a block timestamp at or after it. */
  finalBefore: number;
}

export interface ChainReaderOptions {
  /** Entries per cache; each is small, so the defaults keep the verifier well under 100 MB. */
  cacheSize?: number;
  /** A patient with more consents than this is decided per second rather than per interval. */
  maxTimelineConsents?: number;
}

export class ChainReader {
  /** Number of JSON-RPC calls made (each eth_call counts once, even when ethers batches them over HTTP). */
  calls = 0;
  private readonly ledger: Contract;
  private readonly registry: Contract;
  private readonly consents: BoundedMap<string, Promise<OnChainConsent | null>>;
  private readonly memberships: BoundedMap<string, Promise<MembershipHistory>>;
  private readonly timelines: BoundedMap<string, Promise<ConsentTimeline | null>>;
  private readonly decisions: BoundedMap<string, Promise<ChainDecisionResult>>;
  private readonly maxTimelineConsents: number;

  constructor(
    readonly provider: JsonRpcProvider,
    deployment: DeploymentInfo,
    options: ChainReaderOptions = {},
  ) {
    this.ledger = new Contract(deployment.accessLedger, ACCESS_LEDGER_ABI, provider);
    this.registry = new Contract(deployment.consentRegistry, CONSENT_REGISTRY_ABI, provider);
    const size = options.cacheSize ?? 20_000;
    this.consents = new BoundedMap(size);
    this.memberships = new BoundedMap(size);
    this.timelines = new BoundedMap(size);
    this.decisions = new BoundedMap(size * 5);
    this.maxTimelineConsents = options.maxTimelineConsents ?? 256;
  }

  /**
   * A provider for `rpcUrl` that assumes the deployment's chain (checked separately with eth_chainId),
   * so it never stalls retrying network detection, and batches concurrent calls into one HTTP request.
   */
  static connect(rpcUrl: string, deployment: DeploymentInfo, options?: ChainReaderOptions): ChainReader {
    const provider = new JsonRpcProvider(rpcUrl, Network.from(deployment.chainId), {
      staticNetwork: Network.from(deployment.chainId),
      batchStallTime: 2,
      batchMaxCount: 100,
    });
    return new ChainReader(provider, deployment, options);
  }

  close(): void {
    this.provider.destroy();
  }

  async chainId(): Promise<number> {
    this.calls++;
    return Number(await this.provider.send("eth_chainId", []));
  }

  async hasCode(address: string): Promise<boolean> {
    this.calls++;
    return (await this.provider.getCode(address)) !== "0x";
  }

  async batchCount(): Promise<number> {
    this.calls++;
    return Number(await this.ledger.batchCount());
  }

  /**
   * The batch anchored under `batchId` for exactly `firstSeq..lastSeq` (AccessLedger v2 keeps the root under
   * its range), or null when the chain has no batch with this id. Not cached: each is read once.
   */
  async getBatch(batchId: number, firstSeq: number, lastSeq: number): Promise<OnChainBatch | null> {
    this.calls++;
    try {
      const b = await this.ledger.getBatch(batchId, firstSeq, lastSeq);
      return { root: (b.root as string).toLowerCase(), status: Number(b.status), supersededBy: Number(b.supersededBy) };
    } catch (error) {
      const name = revertName(error);
      if (name === "BatchNotFound") return null;
      if (name === "BatchRangeMismatch") return { rangeMismatch: true };
      throw error;
    }
  }

  /** Whether block `blockNumber` holds the BatchAnchored log of `batchId` with this root and range. */
  async anchoredIn(blockNumber: number, batchId: number, root: string, firstSeq: number, lastSeq: number): Promise<boolean> {
    this.calls++;
    const logs = await this.ledger.queryFilter(this.ledger.filters.BatchAnchored(batchId), blockNumber, blockNumber);
    return logs.some((log) => {
      const a = "args" in log ? log.args : undefined;
      return !!a && String(a.root).toLowerCase() === root && Number(a.firstSeq) === firstSeq && Number(a.lastSeq) === lastSeq;
    });
  }

  /** The consent, or null when it does not exist. */
  getConsent(consentId: string): Promise<OnChainConsent | null> {
    return this.consents.getOrLoad(consentId, () => this.loadConsent(consentId));
  }

  /** Whether `account` was an institution at unix second `at`, from the chain's membership record. */
  async isInstitutionAt(account: string, at: number): Promise<boolean> {
    let history = await this.memberships.getOrLoad(account, () => this.loadMembership(account));
    if (at >= history.finalBefore) {
      // A change at the chain's current instant may still come: read it again, uncached.
      history = await this.loadMembership(account);
    }
    let member = false;
    for (const change of history.changes) {
      if (change.at > at) break;
      member = change.member;
    }
    return member;
  }

  private async loadMembership(account: string): Promise<MembershipHistory> {
    this.calls += 2;
    const latest = await this.provider.getBlock("latest");
    const changes = (await this.registry.institutionHistory(account)) as Array<{ at: bigint; member: boolean }>;
    return { changes: changes.map((c) => ({ at: Number(c.at), member: c.member })), finalBefore: latest?.timestamp ?? 0 };
  }

  /** ConsentRegistry.decide at unix second `at`, served from the interval cache when that is sound. */
  async decide(patient: string, requester: string, categories: bigint, purposes: bigint, at: number): Promise<ChainDecisionResult> {
    // decide() reads the patient's consents and the requester's membership at `at`: constant between the
    // boundaries of both, so one call per pair of intervals.
    const [timeline, membership] = await Promise.all([this.timelineOf(patient), this.memberships.getOrLoad(requester, () => this.loadMembership(requester))]);
    const question = `${patient}|${requester}|${categories}|${purposes}|`;
    const final = timeline && at < timeline.finalBefore && at < membership.finalBefore;
    const key = final
      ? `${question}i${intervalOf(timeline.boundaries, at)}m${intervalOf(membership.changes.map((c) => c.at), at)}`
      : `${question}t${at}`;
    return this.decisions.getOrLoad(key, async () => {
      this.calls++;
      try {
        const [decision, consentId] = await this.registry.decide(patient, requester, categories, purposes, at);
        return { decision: Number(decision), consentId: (consentId as string).toLowerCase() };
      } catch (error) {
        // A trail may record a question the chain refuses to answer: that is the trail's fault, not a reason to stop.
        const name = revertName(error);
        if (name === "InvalidCategories" || name === "InvalidPurposes") return { decision: -1, consentId: ZERO_ID, invalid: name };
        throw error;
      }
    });
  }

  private async loadConsent(consentId: string): Promise<OnChainConsent | null> {
    this.calls++;
    try {
      const c = await this.registry.getConsent(consentId);
      return {
        id: consentId,
        patient: (c.terms.patient as string).toLowerCase(),
        grantee: (c.terms.grantee as string).toLowerCase(),
        categories: c.terms.categories as bigint,
        purposes: c.terms.purposes as bigint,
        effect: Number(c.terms.effect),
        validFrom: Number(c.terms.validFrom),
        validUntil: Number(c.terms.validUntil),
        grantedAt: Number(c.grantedAt),
        revokedAt: Number(c.revokedAt),
      };
    } catch (error) {
      if (revertName(error) === "ConsentNotFound") return null;
      throw error;
    }
  }

  private timelineOf(patient: string): Promise<ConsentTimeline | null> {
    return this.timelines.getOrLoad(patient, async () => {
      // The clock first: everything read after it is at least as new.
      this.calls += 2;
      const latest = await this.provider.getBlock("latest");
      const ids = (await this.registry.consentsOf(patient)) as string[];
      if (!latest || ids.length > this.maxTimelineConsents) return null;
      const consents = await Promise.all(ids.map((consentId) => this.getConsent(consentId.toLowerCase())));
      const boundaries = new Set<number>();
      for (const c of consents) {
        if (!c) return null; // listed but unreadable: do not guess
        boundaries.add(c.grantedAt).add(c.validFrom);
        if (c.validUntil !== 0) boundaries.add(c.validUntil);
        if (c.revokedAt !== 0) boundaries.add(c.revokedAt);
      }
      return { boundaries: [...boundaries].sort((a, b) => a - b), finalBefore: latest.timestamp };
    });
  }
}

/** How many boundaries are at or before `at`: equal for two times exactly when no boundary lies between them. */
export function intervalOf(sortedBoundaries: readonly number[], at: number): number {
  let lo = 0;
  let hi = sortedBoundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedBoundaries[mid] <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function revertName(error: unknown): string | undefined {
  return isCallException(error) ? error.revert?.name : undefined;
}
