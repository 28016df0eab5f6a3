import { BoundedMap } from "./bounded-map";
import type { DeploymentInfo } from "./deployment-file";
import { JsonRpcClient, JsonRpcError } from "./json-rpc";
import { Keccak } from "./keccak";

/**
 * The verifier's only view of the chain: a handful of view calls, with bounded caches. The interface is
 * embedded (canonical signatures, from contracts/interfaces; the tests check them against the compiled
 * contracts) rather than loaded from artifacts/, so the verifier needs nothing from the service's build.
 * Calls are encoded and their answers decoded by hand: every argument and most results are fixed-size
 * words, and a general ABI coder cost more per call than the node took to answer.
 */
export const LEDGER_CALLS = {
  /** returns (bytes32 root, uint8 status, uint256 supersededBy) */
  getBatch: "getBatch(uint256,uint64,uint64)",
  /** returns uint256 */
  batchCount: "batchCount()",
} as const;

export const REGISTRY_CALLS = {
  /** returns ((address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms, uint64 grantedAt, uint64 revokedAt) */
  getConsent: "getConsent(bytes32)",
  /** returns bytes32[] */
  consentsOf: "consentsOf(address)",
  /** returns (uint8 decision, bytes32 consentId) */
  decide: "decide(address,address,uint256,uint256,uint64)",
  /** returns (uint64 at, bool member)[] */
  institutionHistory: "institutionHistory(address)",
} as const;

/** BatchAnchored(uint256 indexed batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq) */
export const BATCH_ANCHORED = "BatchAnchored(uint256,bytes32,uint64,uint64)";

/** The custom errors the verifier tells apart; any other revert stops it. */
export const KNOWN_ERRORS = ["BatchNotFound(uint256)", "BatchRangeMismatch(uint256,uint64,uint64)", "ConsentNotFound(bytes32)", "InvalidCategories(uint256)", "InvalidPurposes(uint256)"] as const;

type CallName = keyof typeof LEDGER_CALLS | keyof typeof REGISTRY_CALLS;

/** keccak256 of each signature: 4-byte selectors of the calls and errors, the event's topic. */
interface Selectors {
  calls: Record<CallName, string>;
  batchAnchored: string;
  /** error selector (0x + 8 hex digits) → error name */
  errors: Map<string, string>;
}

async function selectors(): Promise<Selectors> {
  const keccak = await Keccak.create();
  const hash = (signature: string) => "0x" + Buffer.from(keccak.hash(Buffer.from(signature, "utf8"))).toString("hex");
  const calls = {} as Record<CallName, string>;
  for (const [name, signature] of Object.entries({ ...LEDGER_CALLS, ...REGISTRY_CALLS })) calls[name as CallName] = hash(signature).slice(0, 10);
  return {
    calls,
    batchAnchored: hash(BATCH_ANCHORED),
    errors: new Map(KNOWN_ERRORS.map((signature) => [hash(signature).slice(0, 10), signature.slice(0, signature.indexOf("("))])),
  };
}

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
  /** The changes' times, for intervalOf. */
  times: number[];
  /** Only instants before the chain's clock when it was read are final. */
  finalBefore: number;
}

/** A cached chain answer, and the answer itself once it has come (peeked by the verifier's synchronous path). */
class Answer<V> {
  done = false;
  value: V | undefined;
  readonly promise: Promise<V>;

  constructor(promise: Promise<V>) {
    this.promise = promise.then((value) => {
      this.value = value;
      this.done = true;
      return value;
    });
  }
}

/** What a peek returns when the answer has not come yet (or never will from the cache): ask asynchronously. */
export const NOT_YET: unique symbol = Symbol("not yet answered");
export type Peeked<V> = V | typeof NOT_YET;

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
  /** Number of JSON-RPC calls made (each eth_call counts once, even when batched into one HTTP request). */
  calls = 0;
  private readonly ledger: string;
  private readonly registry: string;
  private readonly selectors: Promise<Selectors>;
  private readonly consents: BoundedMap<string, Answer<OnChainConsent | null>>;
  private readonly memberships: BoundedMap<string, Answer<MembershipHistory>>;
  private readonly timelines: BoundedMap<string, Answer<ConsentTimeline | null>>;
  private readonly decisions: BoundedMap<string, Answer<ChainDecisionResult>>;
  private readonly maxTimelineConsents: number;

  constructor(
    readonly rpc: JsonRpcClient,
    deployment: DeploymentInfo,
    options: ChainReaderOptions = {},
  ) {
    this.ledger = deployment.accessLedger.toLowerCase();
    this.registry = deployment.consentRegistry.toLowerCase();
    this.selectors = selectors();
    const size = options.cacheSize ?? 20_000;
    this.consents = new BoundedMap(size);
    this.memberships = new BoundedMap(size);
    this.timelines = new BoundedMap(size);
    this.decisions = new BoundedMap(size * 5);
    this.maxTimelineConsents = options.maxTimelineConsents ?? 256;
  }

  /**
   * A client for `rpcUrl`, which is assumed to serve the deployment's chain (checked separately with
   * eth_chainId), and which batches concurrent calls into one HTTP request.
   */
  static connect(rpcUrl: string, deployment: DeploymentInfo, options?: ChainReaderOptions): ChainReader {
    return new ChainReader(new JsonRpcClient(rpcUrl, { stallMs: 2, maxBatch: 100 }), deployment, options);
  }

  close(): void {
    this.rpc.close();
  }

  async chainId(): Promise<number> {
    this.calls++;
    return Number(await this.rpc.send<string>("eth_chainId", []));
  }

  async hasCode(address: string): Promise<boolean> {
    this.calls++;
    return (await this.rpc.send<string>("eth_getCode", [address, "latest"])) !== "0x";
  }

  async batchCount(): Promise<number> {
    this.calls++;
    return Number(uint(words(await this.call(this.ledger, "batchCount", ""), 1), 0));
  }

  /**
   * The batch anchored under `batchId` for exactly `firstSeq..lastSeq` (AccessLedger v2 keeps the root under
   * its range), or null when the chain has no batch with this id. Not cached: each is read once.
   */
  async getBatch(batchId: number, firstSeq: number, lastSeq: number): Promise<OnChainBatch | null> {
    this.calls++;
    try {
      const w = words(await this.call(this.ledger, "getBatch", word(batchId) + word(firstSeq) + word(lastSeq)), 3);
      return { root: "0x" + w[0], status: uint8(w, 1), supersededBy: Number(uint(w, 2)) };
    } catch (error) {
      const name = await this.revertName(error);
      if (name === "BatchNotFound") return null;
      if (name === "BatchRangeMismatch") return { rangeMismatch: true };
      throw error;
    }
  }

  /** Whether block `blockNumber` holds the BatchAnchored log of `batchId` with this root and range. */
  async anchoredIn(blockNumber: number, batchId: number, root: string, firstSeq: number, lastSeq: number): Promise<boolean> {
    this.calls++;
    const { batchAnchored } = await this.selectors;
    const block = "0x" + blockNumber.toString(16);
    const filter = { address: this.ledger, topics: [batchAnchored, "0x" + word(batchId)], fromBlock: block, toBlock: block };
    const logs = await this.rpc.send<Array<{ address?: string; topics?: string[]; data?: string }>>("eth_getLogs", [filter]);
    return logs.some((log) => {
      // A log that does not decode as BatchAnchored of this batch is not one.
      if (log.address?.toLowerCase() !== this.ledger || log.topics?.length !== 2) return false;
      if (log.topics[0].toLowerCase() !== batchAnchored || log.topics[1].toLowerCase() !== "0x" + word(batchId)) return false;
      try {
        const w = words(log.data ?? "", 3);
        return "0x" + w[0] === root && Number(uint(w, 1)) === firstSeq && Number(uint(w, 2)) === lastSeq;
      } catch {
        return false;
      }
    });
  }

  /** The consent, or null when it does not exist. */
  getConsent(consentId: string): Promise<OnChainConsent | null> {
    return this.consents.getOrLoad(consentId, () => new Answer(this.loadConsent(consentId))).promise;
  }

  /** getConsent's answer if it has come. */
  peekConsent(consentId: string): Peeked<OnChainConsent | null> {
    const answer = this.consents.get(consentId);
    if (answer?.done) return answer.value!;
    // Checks waiting on one answer share its promise: a waiting check costs little.
    this.missed = answer ? () => answer.promise : () => this.getConsent(consentId);
    return NOT_YET;
  }

  /**
   * What the last peek that answered NOT_YET would ask the chain (taking it clears it): once that has come,
   * the same peek answers from the cache (unless the answer is not final, as for an instant at or after
   * the chain's clock).
   */
  takeMissed(): (() => Promise<unknown>) | null {
    const missed = this.missed;
    this.missed = null;
    return missed;
  }

  private missed: (() => Promise<unknown>) | null = null;

  /** Whether `account` was an institution at unix second `at`, from the chain's membership record. */
  async isInstitutionAt(account: string, at: number): Promise<boolean> {
    let history = await this.membershipOf(account).promise;
    if (at >= history.finalBefore) {
      // A change at the chain's current instant may still come: read it again, uncached.
      history = await this.loadMembership(account);
    }
    return memberAt(history, at);
  }

  /** isInstitutionAt's answer if the cached record is final at `at`. */
  peekIsInstitutionAt(account: string, at: number): Peeked<boolean> {
    const answer = this.memberships.get(account);
    if (answer?.done && at < answer.value!.finalBefore) return memberAt(answer.value!, at);
    // Done but not final at `at`: no wait fills the cache for it, so the check goes to askingTheChain at once.
    this.missed = answer?.done ? null : () => this.membershipOf(account).promise;
    return NOT_YET;
  }

  private membershipOf(account: string): Answer<MembershipHistory> {
    return this.memberships.getOrLoad(account, () => new Answer(this.loadMembership(account)));
  }

  private async loadMembership(account: string): Promise<MembershipHistory> {
    this.calls += 2;
    const latest = await this.latestBlockTime();
    const w = dynamicArray(await this.call(this.registry, "institutionHistory", address(account)), 2);
    const list: Array<{ at: number; member: boolean }> = [];
    for (let i = 0; i < w.length; i += 2) list.push({ at: Number(uint(w, i)), member: uint(w, i + 1) !== 0n });
    return { changes: list, times: list.map((c) => c.at), finalBefore: latest ?? 0 };
  }

  /** ConsentRegistry.decide at unix second `at`, served from the interval cache when that is sound. */
  async decide(patient: string, requester: string, categories: bigint, purposes: bigint, at: number): Promise<ChainDecisionResult> {
    // decide() reads the patient's consents and the requester's membership at `at`: constant between the
    // boundaries of both, so one call per pair of intervals.
    const [timeline, membership] = await Promise.all([this.timelineOf(patient).promise, this.membershipOf(requester).promise]);
    const key = decisionKey(patient, requester, categories, purposes, at, timeline, membership);
    return this.decisions.getOrLoad(key, () => new Answer(this.loadDecision(patient, requester, categories, purposes, at))).promise;
  }

  /** decide's answer if it has come for this question's interval (or this very second). */
  peekDecide(patient: string, requester: string, categories: bigint, purposes: bigint, at: number): Peeked<ChainDecisionResult> {
    const timeline = this.timelines.get(patient);
    const membership = this.memberships.get(requester);
    if (!timeline?.done) {
      this.missed = () => this.timelineOf(patient).promise;
      return NOT_YET;
    }
    if (!membership?.done) {
      this.missed = () => this.membershipOf(requester).promise;
      return NOT_YET;
    }
    const answer = this.decisions.get(decisionKey(patient, requester, categories, purposes, at, timeline.value!, membership.value!));
    if (answer?.done) return answer.value!;
    this.missed = answer ? () => answer.promise : () => this.decide(patient, requester, categories, purposes, at);
    return NOT_YET;
  }

  private async loadDecision(patient: string, requester: string, categories: bigint, purposes: bigint, at: number): Promise<ChainDecisionResult> {
    this.calls++;
    try {
      const w = words(await this.call(this.registry, "decide", address(patient) + address(requester) + word(categories) + word(purposes) + word(at)), 2);
      return { decision: uint8(w, 0), consentId: "0x" + w[1] };
    } catch (error) {
      // A trail may record a question the chain refuses to answer: that is the trail's fault, not a reason to stop.
      const name = await this.revertName(error);
      if (name === "InvalidCategories" || name === "InvalidPurposes") return { decision: -1, consentId: ZERO_ID, invalid: name };
      throw error;
    }
  }

  private async loadConsent(consentId: string): Promise<OnChainConsent | null> {
    this.calls++;
    try {
      // ((patient, grantee, categories, purposes, effect, validFrom, validUntil) terms, grantedAt, revokedAt): nine words.
      const w = words(await this.call(this.registry, "getConsent", bytes32(consentId)), 9);
      return {
        id: consentId,
        patient: addressOf(w, 0),
        grantee: addressOf(w, 1),
        categories: uint(w, 2),
        purposes: uint(w, 3),
        effect: uint8(w, 4),
        validFrom: Number(uint(w, 5)),
        validUntil: Number(uint(w, 6)),
        grantedAt: Number(uint(w, 7)),
        revokedAt: Number(uint(w, 8)),
      };
    } catch (error) {
      if ((await this.revertName(error)) === "ConsentNotFound") return null;
      throw error;
    }
  }

  private timelineOf(patient: string): Answer<ConsentTimeline | null> {
    return this.timelines.getOrLoad(patient, () => new Answer(this.loadTimeline(patient)));
  }

  private async loadTimeline(patient: string): Promise<ConsentTimeline | null> {
    // The clock first: everything read after it is at least as new.
    this.calls += 2;
    const latest = await this.latestBlockTime();
    const ids = dynamicArray(await this.call(this.registry, "consentsOf", address(patient)), 1).map((id) => "0x" + id);
    if (latest === null || ids.length > this.maxTimelineConsents) return null;
    const consents = await Promise.all(ids.map((consentId) => this.getConsent(consentId.toLowerCase())));
    const boundaries = new Set<number>();
    for (const c of consents) {
      if (!c) return null; // listed but unreadable: do not guess
      boundaries.add(c.grantedAt).add(c.validFrom);
      if (c.validUntil !== 0) boundaries.add(c.validUntil);
      if (c.revokedAt !== 0) boundaries.add(c.revokedAt);
    }
    return { boundaries: [...boundaries].sort((a, b) => a - b), finalBefore: latest };
  }

  /** The latest block's timestamp (unix seconds), or null when the node has none. */
  private async latestBlockTime(): Promise<number | null> {
    const block = await this.rpc.send<{ timestamp?: string } | null>("eth_getBlockByNumber", ["latest", false]);
    return block?.timestamp === undefined ? null : Number(block.timestamp);
  }

  /** eth_call of `name` on `to` with its arguments' words (hex, no 0x); the answer's hex. */
  private async call(to: string, name: CallName, args: string): Promise<string> {
    const { calls } = await this.selectors;
    const result = await this.rpc.send<string>("eth_call", [{ to, data: calls[name] + args }, "latest"]);
    if (typeof result !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(result)) throw new Error(`${name}: the node answered ${JSON.stringify(result)}, not hex data`);
    return result.toLowerCase();
  }

  /** The name of the known custom error a call reverted with, if it did. */
  private async revertName(error: unknown): Promise<string | undefined> {
    if (!(error instanceof JsonRpcError)) return undefined;
    const data = error.revertData();
    if (!data || data.length < 10) return undefined;
    return (await this.selectors).errors.get(data.slice(0, 10).toLowerCase());
  }
}

function memberAt(history: MembershipHistory, at: number): boolean {
  let member = false;
  for (const change of history.changes) {
    if (change.at > at) break;
    member = change.member;
  }
  return member;
}

/**
 * The decision cache's key: the question and, when the answer is final, the intervals of the patient's
 * consent timeline and of the requester's membership that `at` lies in; otherwise the second itself.
 */
function decisionKey(patient: string, requester: string, categories: bigint, purposes: bigint, at: number, timeline: ConsentTimeline | null, membership: MembershipHistory): string {
  const question = `${patient}|${requester}|${categories}|${purposes}|`;
  const final = timeline && at < timeline.finalBefore && at < membership.finalBefore;
  return final ? `${question}i${intervalOf(timeline.boundaries, at)}m${intervalOf(membership.times, at)}` : `${question}t${at}`;
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


// ABI words, as hex without 0x: every argument here is a static type, one 32-byte word each.

function word(n: number | bigint): string {
  if (n < 0) throw new RangeError("negative values are not encoded here");
  return n.toString(16).padStart(64, "0");
}

function address(a: string): string {
  return a.slice(2).toLowerCase().padStart(64, "0");
}

function bytes32(h: string): string {
  return h.slice(2).toLowerCase();
}

/** The first `count` words of an answer (more may follow, as the ABI allows); too short is an error, as ethers has it. */
function words(hex: string, count: number): string[] {
  if (hex.length < 2 + 64 * count) throw new Error(`the node's answer has ${(hex.length - 2) / 2} bytes, fewer than ${count} words`);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = hex.slice(2 + 64 * i, 66 + 64 * i);
  return out;
}

/** A returned dynamic array of static items of `wordsPerItem` words: its items' words, in order. */
function dynamicArray(hex: string, wordsPerItem: number): string[] {
  const offset = Number(uint(words(hex, 1), 0));
  const body = "0x" + hex.slice(2 + 2 * offset);
  if (offset % 32 !== 0 || body.length < 66) throw new Error("the node's answer is not an ABI-encoded array");
  const length = Number(uint(words(body, 1), 0));
  return words(body, 1 + length * wordsPerItem).slice(1);
}

const uint = (w: string[], i: number): bigint => BigInt("0x" + w[i]);

/** uint8, masked to its width as ABI decoders read it. */
const uint8 = (w: string[], i: number): number => parseInt(w[i].slice(62), 16);

/** An address word: twenty bytes, right-aligned, the rest zero (otherwise not an address: an error, as ethers has it). */
function addressOf(w: string[], i: number): string {
  if (!/^0{24}/.test(w[i])) throw new Error("the node's answer holds an address wider than 20 bytes");
  return "0x" + w[i].slice(24);
}
