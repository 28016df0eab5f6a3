/**
 * Synthetic access trails on a real chain, for the verifier's tests: real consents granted by patients,
 * access events per docs/access-trail.md (hash-chained, batched into standard Merkle trees), every batch
 * anchored with AccessLedger.anchor, and the NDJSON export written exactly as the spec lays it out —
 * export version 2 with format 2 events by default, version 1 (format 1 only) on request.
 *
 * Built to be fast enough for 100,000+ events: leaves are hashed with the verifier's hash-wasm encoder,
 * trees with the service's own builder (the unit tests check both against @openzeppelin/merkle-tree),
 * and only one batch is held at a time.
 */
import { createWriteStream, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { once } from "node:events";
import { join } from "node:path";
import { Contract, getAddress, Interface, JsonRpcProvider, Wallet, ZeroAddress, keccak256, toUtf8Bytes } from "ethers";
import { deployContracts } from "../../scripts/lib/deploy-contracts";
import { demoAccounts, type DemoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { Keccak } from "../../scripts/verify/keccak";
import { LeafEncoder, leafHash } from "../../scripts/verify/leaf";
import { bytesHex } from "../../scripts/verify/merkle";
import { keccakReady } from "../../service/audit/keccak";
import { StandardTree } from "../../service/audit/merkle";
import { Decision, LEAF_TYPES, LEAF_TYPES_V1, ZERO_HASH, type EventFormat, type LeafFields } from "../../scripts/verify/trail-format";
import { runTs, type RunningProcess } from "./process";
import { SeededRandom } from "../../scripts/lib/seeded-random";

/** Category and purpose bits (docs/architecture.md §4). */
export const CAT = { demographics: 0, encounters: 1, conditions: 2, lab: 3, vitals: 4, medications: 5, allergies: 6, imaging: 9 } as const;
export const PURPOSE = { TREAT: 0, ETREAT: 1, HPAYMT: 2, HOPERAT: 3, HRESCH: 4, PUBHLTH: 5, PATRQT: 6 } as const;
export const bits = (...bitIndexes: number[]): bigint => bitIndexes.reduce((mask, b) => mask | (1n << BigInt(b)), 0n);

const REGISTRY_ABI = [
  "function grant((address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms) returns (bytes32)",
  "function revoke(bytes32 consentId)",
  "function getConsent(bytes32 consentId) view returns (tuple(tuple(address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms, uint64 grantedAt, uint64 revokedAt))",
  "event ConsentGranted(bytes32 indexed consentId, address indexed patient, address indexed grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil, uint256 nonce)",
];
const LEDGER_ABI = ["function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq)"];

/** Fixed fees and gas: each anchor then costs one send and one receipt, no estimation round trips. */
const TX_FEES = { gasLimit: 200_000n, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };

export interface FixtureConsent {
  id: string;
  patient: string;
  grantee: string;
  categories: bigint;
  purposes: bigint;
  effect: 0 | 1;
  grantedAt: number;
}

export interface ConsentTerms {
  grantee: string;
  categories: bigint;
  purposes: bigint;
  effect?: 0 | 1;
  validFrom?: number;
  validUntil?: number;
}

/** The fields of an event before the writer numbers and chains it. */
export interface DraftEvent {
  id: string; // UUID, as the service writes it
  time: number; // unix ms
  actor: string;
  /** Whom the decision is about (default: the actor). A consult has a custodian as actor and another institution here. */
  requester?: string;
  /** The event's trail format (default: the trail's, see TrailOptions.formatOf). Format 1 has no requester in its leaf. */
  format?: EventFormat;
  patient: string;
  action: number;
  categories: bigint;
  purposes: bigint;
  decision: number;
  consentId: string;
  requestHash: string;
}

export interface TrailOptions {
  events: number;
  /** Events per anchored batch (default 1,000). */
  batchSize?: number;
  /** Share of break-glass events (default 0.01). */
  breakGlassRate?: number;
  /** Anchor each break-glass event in a batch of its own, as the service does (docs/architecture.md §6) (default true). */
  isolateBreakGlass?: boolean;
  /** Batches written as `pruned: true` without their events (they are still anchored). */
  prune?: (batchId: number) => boolean;
  /**
   * Replace fields of the `index`-th event of this trail (0-based) before it is numbered, hashed and anchored.
   * Replacing `actor` without naming a `requester` makes the actor the requester, as for any direct access.
   */
  override?: (index: number, draft: DraftEvent) => Partial<DraftEvent> | void;
  /** Export version of the file (default 2). Version 1 exports hold format 1 events only. */
  exportVersion?: 1 | 2;
  /** Format of the `index`-th event (default: 1 in a version 1 export, else 2). */
  formatOf?: (index: number) => EventFormat;
  /** The header's [from, to) in unix ms; by default from the earliest event to just after the latest. */
  range?: { from?: number; to?: number };
  /** Time of the first event, unix ms (default: right after the previous trail of this world). */
  startTimeMs?: number;
  /** Write the closing `end` line (default true). */
  end?: boolean;
  seed?: number;
}

export interface WrittenBatch {
  batchId: number;
  firstSeq: number;
  lastSeq: number;
  root: string;
  pruned: boolean;
}

export interface TrailSummary {
  file: string;
  events: number;
  firstSeq: number;
  lastSeq: number;
  batches: WrittenBatch[];
  /** Permits and denies about a patient: the ones the verifier checks against the chain. */
  permits: number;
  denies: number;
  breakGlass: number;
  /** The header's range, unix ms. */
  range: { from: number; to: number };
}

export interface TrailWorld {
  url: string;
  provider: JsonRpcProvider;
  deployment: Deployment;
  deploymentFile: string;
  institutions: string[];
  patients: Wallet[];
  /** Active permit consents that generated permits may cite. */
  permitPool: FixtureConsent[];
  /** Active deny consents that generated denies may cite; nothing the generator permits overlaps them. */
  denyPool: FixtureConsent[];
  grant(patient: Wallet, terms: ConsentTerms): Promise<FixtureConsent>;
  /** Revokes and returns revokedAt (unix seconds). */
  revoke(patient: Wallet, consentId: string): Promise<number>;
  chainTime(): Promise<number>;
  increaseTime(seconds: number): Promise<void>;
  close(): Promise<void>;
  /** Where the next trail continues: sequence, batch id, hash link and clock. */
  cursor: { nextSeq: number; nextBatchId: number; prevLeaf: string; nextTimeMs: number; anchorNonce: number };
  /** Holds ANCHORER_ROLE; its nonce is tracked in `cursor` so anchoring needs no nonce look-ups. */
  anchorer: Wallet;
  keccak: Keccak;
}

/**
 * Starts a chain in its own process (test/support/chain-node.ts), deploys the contracts with the demo
 * roles, and has `patientCount` patients grant consents. The clock then moves a day ahead, so the
 * trail's events (which start right after the grants) lie in the chain's past, as a real trail does.
 */
export async function startTrailWorld(dir: string, patientCount = 8): Promise<TrailWorld> {
  const node: RunningProcess = runTs("test/support/chain-node.ts");
  try {
    const [, url] = await node.waitFor(/CHAIN (\S+)/);
    // cacheTimeout -1: ethers otherwise serves a nonce cached from 250 ms ago to back-to-back sends.
    const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1 });
    provider.pollingInterval = 50;
    // demoAccounts() derives eight HD keys (~35 ms): once only.
    const demo = demoAccounts();
    const account = (role: DemoAccount["role"], nth = 0) => demo.filter((a) => a.role === role)[nth];
    const admin = new Wallet(account("admin").privateKey, provider);
    const institutions = [account("institution", 0).address, account("institution", 1).address];
    const { deployment } = await deployContracts(admin, "test", {
      relayers: [account("relayer").address],
      anchorers: [account("anchorer").address],
      institutions,
      regulators: [account("regulator").address],
    });
    const deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify(deployment, null, 2));

    const patients = [new Wallet(account("patient", 0).privateKey, provider), new Wallet(account("patient", 1).privateKey, provider)];
    for (let i = patients.length; i < patientCount; i++) {
      const wallet = new Wallet(keccak256(toUtf8Bytes(`consentry trail fixture patient ${i}`)), provider);
      await provider.send("hardhat_setBalance", [wallet.address, "0x56bc75e2d63100000"]); // 100 ETH
      patients.push(wallet);
    }

    const registry = new Contract(deployment.contracts.ConsentRegistry.address, REGISTRY_ABI, provider);
    const registryEvents = new Interface(REGISTRY_ABI);
    const anchorer = new Wallet(account("anchorer").privateKey, provider);
    await keccakReady();
    const world: TrailWorld = {
      url,
      provider,
      deployment,
      deploymentFile,
      institutions,
      patients,
      permitPool: [],
      denyPool: [],
      anchorer,
      keccak: await Keccak.create(),
      cursor: { nextSeq: 1, nextBatchId: 1, prevLeaf: ZERO_HASH, nextTimeMs: 0, anchorNonce: await provider.getTransactionCount(anchorer.address, "pending") },
      async grant(patient, terms) {
        const effect = terms.effect ?? 0;
        const tx = await (registry.connect(patient) as Contract).grant([
          patient.address,
          terms.grantee,
          terms.categories,
          terms.purposes,
          effect,
          terms.validFrom ?? 0,
          terms.validUntil ?? 0,
        ]);
        const receipt = await tx.wait();
        const log = receipt.logs.map((l: { topics: string[]; data: string }) => registryEvents.parseLog(l)).find((l: { name: string } | null) => l?.name === "ConsentGranted");
        const block = await provider.getBlock(receipt.blockNumber);
        return {
          id: (log!.args.consentId as string).toLowerCase(),
          patient: patient.address,
          grantee: terms.grantee,
          categories: terms.categories,
          purposes: terms.purposes,
          effect,
          grantedAt: block!.timestamp,
        };
      },
      async revoke(patient, consentId) {
        const receipt = await (await (registry.connect(patient) as Contract).revoke(consentId)).wait();
        return (await provider.getBlock(receipt.blockNumber))!.timestamp;
      },
      chainTime: async () => (await provider.getBlock("latest"))!.timestamp,
      async increaseTime(seconds) {
        await provider.send("evm_increaseTime", [seconds]);
        await provider.send("evm_mine", []);
      },
      async close() {
        provider.destroy();
        node.child.kill("SIGKILL");
        await node.exited;
      },
    };

    // Each patient: a permit for one hospital, a permit for any institution, and for some a deny that
    // generated permits never touch (imaging for research), so decide() has something to override with.
    const [hospital, lab] = institutions;
    for (const [i, patient] of patients.entries()) {
      world.permitPool.push(await world.grant(patient, { grantee: i % 2 ? lab : hospital, categories: bits(CAT.lab, CAT.vitals, CAT.medications), purposes: bits(PURPOSE.TREAT, PURPOSE.HOPERAT) }));
      world.permitPool.push(await world.grant(patient, { grantee: ZeroAddress, categories: bits(CAT.demographics, CAT.allergies), purposes: bits(PURPOSE.TREAT) }));
      if (i % 3 === 0) world.denyPool.push(await world.grant(patient, { grantee: lab, categories: bits(CAT.imaging), purposes: bits(PURPOSE.HRESCH), effect: 1 }));
    }
    world.cursor.nextTimeMs = ((await world.chainTime()) + 2) * 1000;
    await world.increaseTime(86_400);
    return world;
  } catch (error) {
    node.child.kill("SIGKILL");
    throw error;
  }
}

/** Makes plausible events: permits (some of them consults) and denies under the world's consents, refusals, self-access, writes, break-glass. */
class EventFactory {
  private readonly rng: SeededRandom;

  constructor(
    private readonly world: TrailWorld,
    seed: number,
    private readonly breakGlassRate: number,
  ) {
    this.rng = new SeededRandom(seed);
  }

  next(time: number, format: EventFormat): DraftEvent {
    const w = this.world;
    const r = this.rng.next();
    const patient = this.rng.pick(w.patients).address;
    const institution = this.rng.pick(w.institutions);
    const base = { id: this.rng.uuid(), time, requestHash: this.rng.hex32(), consentId: ZERO_HASH, format };
    if (r < this.breakGlassRate) {
      return { ...base, actor: institution, patient, action: 1, categories: this.someBits([CAT.conditions, CAT.medications, CAT.allergies]), purposes: bits(PURPOSE.ETREAT), decision: Decision.BreakGlass };
    }
    const rest = (r - this.breakGlassRate) / (1 - this.breakGlassRate);
    if (rest < 0.45) {
      const c = this.rng.pick(w.permitPool);
      const requester = c.grantee === ZeroAddress ? institution : c.grantee;
      return {
        ...base,
        ...this.askedBy(requester, format),
        patient: c.patient,
        categories: this.someBits(setBits(c.categories)),
        purposes: bits(this.rng.pick(setBits(c.purposes))),
        decision: Decision.Permit,
        consentId: c.id,
      };
    }
    if (rest < 0.52 && w.denyPool.length > 0) {
      const c = this.rng.pick(w.denyPool);
      return {
        ...base,
        ...this.askedBy(c.grantee, format),
        patient: c.patient,
        categories: this.someBits(setBits(c.categories)),
        purposes: bits(this.rng.pick(setBits(c.purposes))),
        decision: Decision.Deny,
        consentId: c.id,
      };
    }
    if (rest < 0.7) {
      // Nobody consented to encounters or imaging for payment: refused.
      return { ...base, actor: institution, patient, action: this.rng.pick([1, 2, 4]), categories: this.someBits([CAT.encounters, CAT.imaging]), purposes: bits(PURPOSE.HPAYMT), decision: Decision.NoConsent };
    }
    if (rest < 0.85) {
      return { ...base, actor: patient, patient, action: this.rng.pick([1, 2]), categories: this.someBits([CAT.lab, CAT.vitals, CAT.conditions]), purposes: bits(PURPOSE.PATRQT), decision: Decision.Self };
    }
    if (rest < 0.95) {
      const c = this.rng.pick(w.permitPool);
      return { ...base, actor: c.patient, patient: c.patient, action: 5, categories: c.categories, purposes: c.purposes, decision: Decision.Recorded, consentId: c.id };
    }
    return { ...base, actor: institution, patient: ZeroAddress, action: 2, categories: 0n, purposes: 0n, decision: Decision.Rejected };
  }

  /**
   * Who asks about `requester`'s access: mostly the requester itself; one time in ten (format 2 only, as
   * format 1 cannot name a requester) the other institution, consulting on its behalf.
   */
  private askedBy(requester: string, format: EventFormat): Pick<DraftEvent, "actor" | "requester" | "action"> {
    if (format === 2 && this.rng.next() < 0.1) {
      const custodian = this.world.institutions.find((i) => i.toLowerCase() !== requester.toLowerCase()) ?? requester;
      return { actor: custodian, requester, action: 4 };
    }
    return { actor: requester, requester, action: this.rng.pick([1, 2, 4]) };
  }

  /** The gap to the next event: 1–9 ms, about 200 events a second. */
  gap(): number {
    return 1 + Math.floor(this.rng.next() * 9);
  }


  private someBits(from: readonly number[]): bigint {
    let mask = bits(this.rng.pick(from));
    if (this.rng.next() < 0.3) mask |= bits(this.rng.pick(from));
    return mask;
  }


}

function setBits(mask: bigint): number[] {
  const out: number[] = [];
  for (let b = 0; b < 256 && mask >> BigInt(b) !== 0n; b++) if ((mask >> BigInt(b)) & 1n) out.push(b);
  return out;
}

/**
 * The service's own Merkle builder (OpenZeppelin's StandardMerkleTree layout), indexed by leaf position
 * as the export lays events out. `keccakReady()` must have resolved.
 */
export function buildStandardTree(leaves: readonly Uint8Array[]): { root: Uint8Array; proof(leafIndex: number): string[] } {
  const buffers = leaves.map((leaf) => Buffer.from(leaf));
  const tree = new StandardTree(buffers);
  return { root: tree.root, proof: (leafIndex) => tree.proof(buffers[leafIndex]).map((node) => bytesHex(node)) };
}

interface NumberedEvent extends DraftEvent {
  format: EventFormat;
  requester: string;
  seq: number;
  prevHash: string;
  leaf: Uint8Array;
}

/** The LeafFields of an event (lower-case hex, 0x id), for hashing. Format defaults to 2, the requester to the actor. */
export function leafFieldsOf(e: DraftEvent & { seq: number; prevHash: string }): LeafFields {
  const format = e.format ?? 2;
  return {
    format,
    seq: e.seq,
    idHex: "0x" + e.id.replace(/-/g, "").toLowerCase(),
    time: e.time,
    actor: e.actor.toLowerCase(),
    // Format 1 leaves carry no requester: consent was always the actor's.
    requester: (format === 1 ? e.actor : (e.requester ?? e.actor)).toLowerCase(),
    patient: e.patient.toLowerCase(),
    action: e.action,
    categories: e.categories,
    purposes: e.purposes,
    decision: e.decision,
    consentId: e.consentId.toLowerCase(),
    requestHash: e.requestHash.toLowerCase(),
    prevHash: e.prevHash.toLowerCase(),
  };
}

/**
 * Generates `options.events` events continuing the world's trail, anchors them batch by batch (awaiting
 * each transaction) and writes the export to `file`. A second call continues the same trail, so its
 * export starts mid-history.
 */
export async function writeTrail(world: TrailWorld, file: string, options: TrailOptions): Promise<TrailSummary> {
  const batchSize = options.batchSize ?? 1000;
  const isolateBreakGlass = options.isolateBreakGlass ?? true;
  const version = options.exportVersion ?? 2;
  const formatOf = options.formatOf ?? (() => (version === 1 ? 1 : 2));
  const factory = new EventFactory(world, options.seed ?? world.cursor.nextSeq, options.breakGlassRate ?? 0.01);
  const encoder = new LeafEncoder();
  const cursor = world.cursor;
  const ledger = new Contract(world.deployment.contracts.AccessLedger.address, LEDGER_ABI, world.anchorer);
  const checksum = new Map<string, string>();
  const display = (address: string) => {
    let c = checksum.get(address);
    if (!c) checksum.set(address, (c = getAddress(address)));
    return c;
  };

  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  let time = Math.max(options.startTimeMs ?? 0, cursor.nextTimeMs);
  const summary: TrailSummary = {
    file,
    events: options.events,
    firstSeq: cursor.nextSeq,
    lastSeq: cursor.nextSeq + options.events - 1,
    batches: [],
    permits: 0,
    denies: 0,
    breakGlass: 0,
    range: { from: 0, to: 0 },
  };
  // The range depends on the events, which are streamed out before it is known: the header is written
  // with same-width placeholders and rewritten in place at the end.
  const header = (range: { from: number; to: number }) => headerLine(world, version, range);
  const placeholder = header({ from: 0, to: 0 });
  await write(placeholder);
  let earliest = Infinity;
  let latest = -Infinity;

  let pending: NumberedEvent[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    const batchId = cursor.nextBatchId++;
    const tree = buildStandardTree(events.map((e) => e.leaf));
    const root = bytesHex(tree.root);
    const firstSeq = events[0].seq;
    const lastSeq = events[events.length - 1].seq;
    const tx = await ledger.anchor(batchId, root, firstSeq, lastSeq, { ...TX_FEES, nonce: cursor.anchorNonce++ });
    const receipt = await tx.wait();
    const pruned = options.prune?.(batchId) ?? false;
    summary.batches.push({ batchId, firstSeq, lastSeq, root, pruned });
    let chunk = json({ kind: "batch", batchId, root, firstSeq, lastSeq, txHash: receipt.hash, blockNumber: receipt.blockNumber, pruned });
    if (!pruned) events.forEach((e, i) => (chunk += eventLine(e, batchId, tree.proof(i), version, display)));
    await write(chunk);
  };

  for (let index = 0; index < options.events; index++) {
    const format = formatOf(index);
    let draft = factory.next(time, format);
    const changed = options.override?.(index, draft);
    if (changed) {
      draft = { ...draft, ...changed };
      if (changed.actor !== undefined && changed.requester === undefined) draft.requester = changed.actor;
    }
    time = Math.max(time, draft.time) + factory.gap();
    earliest = Math.min(earliest, draft.time);
    latest = Math.max(latest, draft.time);
    const numbered = { ...draft, seq: cursor.nextSeq++, prevHash: cursor.prevLeaf };
    const fields = leafFieldsOf(numbered);
    if (version === 1 && fields.format !== 1) throw new Error("a version 1 export holds format 1 events only");
    const leaf = leafHash(world.keccak, encoder, fields);
    cursor.prevLeaf = bytesHex(leaf);
    const aboutPatient = draft.patient !== ZeroAddress;
    if (draft.decision === Decision.Permit && aboutPatient) summary.permits++;
    if (draft.decision === Decision.Deny && aboutPatient) summary.denies++;
    const breakGlass = draft.decision === Decision.BreakGlass;
    if (breakGlass) summary.breakGlass++;
    if (breakGlass && isolateBreakGlass) await flush();
    pending.push({ ...numbered, format: fields.format, requester: fields.requester, leaf });
    if (pending.length >= batchSize || (breakGlass && isolateBreakGlass)) await flush();
  }
  await flush();
  cursor.nextTimeMs = time;
  if (options.end ?? true) await write(json({ kind: "end", batches: summary.batches.length, events: summary.batches.filter((b) => !b.pruned).reduce((n, b) => n + b.lastSeq - b.firstSeq + 1, 0) }));
  out.end();
  await once(out, "finish");

  summary.range = { from: options.range?.from ?? earliest, to: options.range?.to ?? latest + 1 };
  const final = header(summary.range);
  if (Buffer.byteLength(final) !== Buffer.byteLength(placeholder)) throw new Error(`the header's range ${JSON.stringify(summary.range)} does not fit its placeholder`);
  const handle = await open(file, "r+");
  try {
    await handle.write(final, 0);
  } finally {
    await handle.close();
  }
  return summary;
}

function headerLine(world: TrailWorld, version: 1 | 2, range: { from: number; to: number }): string {
  return json({
    kind: "header",
    version,
    chainId: world.deployment.chainId,
    accessLedger: world.deployment.contracts.AccessLedger.address,
    consentRegistry: world.deployment.contracts.ConsentRegistry.address,
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    leafTypes: version === 1 ? LEAF_TYPES_V1 : LEAF_TYPES,
    ...(version === 1 ? {} : { leafTypesV1: LEAF_TYPES_V1 }),
  });
}

/** An event line in the spec's field order; version 1 lines have no format or requester. */
function eventLine(e: NumberedEvent, batchId: number, proof: string[], version: 1 | 2, display: (address: string) => string): string {
  return json({
    kind: "event",
    ...(version === 1 ? {} : { format: e.format }),
    batchId,
    seq: e.seq,
    id: e.id,
    time: e.time,
    actor: display(e.actor),
    ...(version === 1 ? {} : { requester: display(e.requester) }),
    patient: display(e.patient),
    action: e.action,
    categories: e.categories.toString(),
    purposes: e.purposes.toString(),
    decision: e.decision,
    consentId: e.consentId,
    requestHash: e.requestHash,
    prevHash: e.prevHash,
    leaf: bytesHex(e.leaf),
    proof,
  });
}

const json = (value: unknown) => JSON.stringify(value) + "\n";
