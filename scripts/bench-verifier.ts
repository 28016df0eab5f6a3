/**
 * The regulator's verifier, measured as a regulator runs it: a realistic export of `events` access events
 * (docs/access-trail.md) whose batches are anchored on a real chain, verified by `scripts/verify.ts` in a
 * process of its own, timed from start to exit, with its peak RSS.
 *
 *   npx ts-node --transpile-only scripts/bench-verifier.ts [events] [--hold]     (prints the JSON result)
 *
 * (The contracts must be compiled: `npm run compile`, which `npm run bench` and `npm test` do first.)
 *
 * The world: a Hardhat JSON-RPC node in a child process, the contracts deployed with their roles, four
 * institutions and 24 patients with real consents (permits to one institution, permits to any institution,
 * denies, a time-limited permit; some revoked after the trail). The trail: the service's own leaf encoding
 * and Merkle builder (service/audit), batches closed as the service closes them (every BATCH_MAX_MS of
 * event time or BATCH_MAX_EVENTS events, each break-glass access alone) under a load that varies between
 * 100 and 3,000 accesses a second, a first stretch in trail format 1 (written before the format 2
 * upgrade), permits (some consults on another institution's behalf), denies, refusals, self access,
 * recorded consent changes and break-glass. Every batch is anchored with AccessLedger.anchor.
 *
 * The verifier runs as `npm run verify` runs it: bundled by esbuild with the flags that script passes (read
 * from package.json), then `node` on the bundle.
 * Wall time is the child process's, from spawn to exit (start-up included); peak RSS is the kernel's
 * maximum for it (through /usr/bin/time; else VmHWM polled every 20 ms), and at least the report's own.
 */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Contract, getAddress, Interface, JsonRpcProvider, keccak256, toUtf8Bytes, Wallet, ZeroAddress } from "ethers";
import { encodeFields, LEAF_TYPES, LEAF_TYPES_V1, type AccessEventFields } from "../service/audit/access-event";
import { keccak, keccakReady } from "../service/audit/keccak";
import { StandardTree } from "../service/audit/merkle";
import type { Deployment } from "../service/chain/deployment";
import { deployContracts } from "./lib/deploy-contracts";
import { startChainProcess } from "./lib/local-chain";
import { demoAccounts, type DemoAccount } from "./lib/demo-accounts";
import { SeededRandom } from "./lib/seeded-random";

const ROOT = resolve(__dirname, "..");

export interface BenchVerifierResult {
  events: number;
  /** Wall time of the verifier's process, start-up included. */
  seconds: number;
  eventsPerSecond: number;
  peakRssMB: number;
  /** The verifier's summary (its stdout): "Consentry trail verification: PASSED" and what it checked. */
  result: string;
}

export interface BenchVerifierOptions {
  /** Verifier runs on the same export (default 3, or BENCH_VERIFIER_RUNS): the median time is reported, with the highest peak RSS. */
  runs?: number;
  /** Progress lines (standalone: on stderr). */
  log?: (line: string) => void;
  /**
   * Called with the verifier's arguments once the export is written and before the runs; the chain and
   * the files stay until it resolves (standalone `--hold`: profile or rerun the verifier by hand).
   */
  hold?: (verifyArgs: string[]) => Promise<void>;
}

/** Service defaults (service/config/app-config.ts): a batch closes after 1 s or 10,000 events. */
const BATCH_MAX_MS = 1_000;
const BATCH_MAX_EVENTS = 10_000;
/** Events written before the trail format 2 upgrade. */
const FORMAT_1_EVENTS = 2_000;
const BREAK_GLASS_RATE = 0.0005;

export async function benchVerifier(events = 100_000, options: BenchVerifierOptions = {}): Promise<BenchVerifierResult> {
  const log = options.log ?? (() => undefined);
  const runs = Math.max(1, options.runs ?? Number(process.env.BENCH_VERIFIER_RUNS ?? 3));
  const dir = mkdtempSync(join(tmpdir(), "consentry-bench-verifier-"));
  const chain = await startChainProcess();
  const killChain = () => chain.child.kill("SIGKILL");
  process.once("exit", killChain);
  try {
    let started = Date.now();
    const world = await buildWorld(chain.url, dir);
    log(`world: chain ${chain.url}, ${world.institutions.length} institutions, ${world.patients.length} patients, ${world.permits.length} permit and ${world.denies.length} deny consents (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    started = Date.now();
    const trail = await writeExport(world, join(dir, "export.ndjson"), events);
    log(`export: ${events} events in ${trail.batches} batches (${trail.permits} permits, ${trail.denies} denies, ${trail.breakGlass} break-glass), ${Math.round(statSync(trail.file).size / 1e6)} MB, built and anchored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    world.provider.destroy();

    const verifyArgs = ["--export", trail.file, "--rpc", chain.url, "--deployment", world.deploymentFile];
    await options.hold?.(verifyArgs);
    const command = bundledVerifier(join(dir, "verify.js"));
    const results: BenchVerifierResult[] = [];
    for (let run = 0; run < runs; run++) {
      const report = join(dir, `report-${run}.json`);
      const measured = await measure(command, [...verifyArgs, "--report", report]);
      const r = JSON.parse(readFileSync(report, "utf8"));
      if (measured.code !== 0 || r.ok !== true || !measured.stdout.includes("PASSED")) {
        throw new Error(`the verifier did not pass the export (exit ${measured.code}):\n${measured.stdout}\n${measured.stderr}`);
      }
      const c = r.checked;
      if (c.events !== events || c.proofs !== events || c.batches !== trail.batches || c.permits !== trail.permits || c.denies !== trail.denies || c.breakGlass !== trail.breakGlass) {
        throw new Error(`the verifier checked ${JSON.stringify(c)}, the export holds ${JSON.stringify(trail)}`);
      }
      const peakRssMB = Math.round(Math.max(measured.peakRssKB / 1024, r.performance.maxRssMB));
      const result = { events, seconds: round(measured.seconds, 3), eventsPerSecond: Math.round(events / measured.seconds), peakRssMB, result: measured.stdout.trim() };
      log(`run ${run + 1}: ${result.eventsPerSecond} events/s over ${result.seconds} s wall, peak RSS ${peakRssMB} MB; in-process ${r.performance.eventsPerSecond} events/s, ${c.chainCalls} chain calls`);
      results.push(result);
    }
    const median = [...results].sort((a, b) => a.seconds - b.seconds)[(results.length - 1) >> 1];
    return { ...median, peakRssMB: Math.max(...results.map((r) => r.peakRssMB)) };
  } finally {
    killChain();
    process.removeListener("exit", killChain);
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------------------
// The chain and the world on it

const CAT = { demographics: 0, encounters: 1, conditions: 2, lab: 3, vitals: 4, medications: 5, allergies: 6, imaging: 9, documents: 10 } as const;
const PURPOSE = { TREAT: 0, ETREAT: 1, HPAYMT: 2, HOPERAT: 3, HRESCH: 4, PUBHLTH: 5, PATRQT: 6 } as const;
const bits = (...indexes: number[]): number => indexes.reduce((mask, b) => mask | (1 << b), 0);
const Decision = { NoConsent: 0, Permit: 1, Deny: 2, Self: 3, BreakGlass: 4, Rejected: 6, Recorded: 7 } as const;
const ZERO_HASH = "0x" + "00".repeat(32);

const REGISTRY_ABI = [
  "function grant((address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms) returns (bytes32)",
  "function revoke(bytes32 consentId)",
  "event ConsentGranted(bytes32 indexed consentId, address indexed patient, address indexed grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil, uint256 nonce)",
];
const LEDGER_ABI = ["function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq)"];
/** Fixed fees and gas: a transaction is one signature and one send, no estimation round trips. */
const TX_FEES = { gasLimit: 500_000n, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };

interface Consent {
  id: string;
  patient: string;
  grantee: string;
  categories: number;
  purposes: number;
}

interface World {
  provider: JsonRpcProvider;
  deployment: Deployment;
  deploymentFile: string;
  institutions: string[];
  patients: string[];
  permits: Consent[];
  denies: Consent[];
  anchorer: Wallet;
  /** Unix ms of the first event: just after the grants, a day before the chain's clock. */
  startMs: number;
}

async function buildWorld(url: string, dir: string): Promise<World> {
  // cacheTimeout -1: ethers otherwise serves a nonce cached from 250 ms ago to back-to-back sends.
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1 });
  provider.pollingInterval = 20;
  const demo = demoAccounts();
  const account = (role: DemoAccount["role"], nth = 0) => demo.filter((a) => a.role === role)[nth];
  const admin = new Wallet(account("admin").privateKey, provider);
  const derived = (label: string) => new Wallet(keccak256(toUtf8Bytes(`consentry bench-verifier ${label}`)), provider);
  const clinics = [derived("clinic 0"), derived("clinic 1")];
  const institutions = [account("institution", 0).address, account("institution", 1).address, ...clinics.map((c) => c.address)];
  const { deployment } = await deployContracts(admin, "bench-verifier", {
    relayers: [account("relayer").address],
    anchorers: [account("anchorer").address],
    institutions,
    regulators: [account("regulator").address],
  });
  const deploymentFile = join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify(deployment, null, 2));

  const patients = [new Wallet(account("patient", 0).privateKey, provider), new Wallet(account("patient", 1).privateKey, provider)];
  for (let i = patients.length; i < 24; i++) patients.push(derived(`patient ${i}`));
  for (const p of patients.slice(2)) await provider.send("hardhat_setBalance", [p.address, "0x56bc75e2d63100000"]);

  const registry = new Contract(deployment.contracts.ConsentRegistry.address, REGISTRY_ABI, provider);
  const events = new Interface(REGISTRY_ABI);
  const nonces = new Map<string, number>();
  const send = async (patient: Wallet, method: "grant" | "revoke", args: unknown[]) => {
    const nonce = nonces.get(patient.address) ?? (await provider.getTransactionCount(patient.address, "pending"));
    nonces.set(patient.address, nonce + 1);
    return (registry.connect(patient) as Contract)[method](...args, { ...TX_FEES, nonce, type: 2 });
  };
  const grant = async (patient: Wallet, grantee: string, categories: number, purposes: number, effect: 0 | 1, validUntil = 0): Promise<Consent> => {
    const tx = await send(patient, "grant", [[patient.address, grantee, categories, purposes, effect, 0, validUntil]]);
    const receipt = await tx.wait();
    const log = receipt.logs.map((l: { topics: string[]; data: string }) => events.parseLog(l)).find((l: { name: string } | null) => l?.name === "ConsentGranted");
    return { id: (log!.args.consentId as string).toLowerCase(), patient: patient.address, grantee, categories, purposes };
  };

  // Each patient: a permit for "their" institution, a permit for any institution; every third a deny for
  // the lab (imaging for research, which no generated permit touches); every fourth a permit to a clinic
  // that expires in a year.
  const permits: Consent[] = [];
  const denies: Consent[] = [];
  const later: Array<{ patient: Wallet; id: string }> = [];
  const now = (await provider.getBlock("latest"))!.timestamp;
  for (const [i, patient] of patients.entries()) {
    const own = await grant(patient, institutions[i % institutions.length], bits(CAT.lab, CAT.vitals, CAT.medications, CAT.conditions), bits(PURPOSE.TREAT, PURPOSE.HOPERAT), 0);
    permits.push(own, await grant(patient, ZeroAddress, bits(CAT.demographics, CAT.allergies), bits(PURPOSE.TREAT), 0));
    if (i % 3 === 0) denies.push(await grant(patient, institutions[1], bits(CAT.imaging), bits(PURPOSE.HRESCH), 1));
    if (i % 4 === 1) permits.push(await grant(patient, institutions[2 + (i % 2)], bits(CAT.documents, CAT.conditions), bits(PURPOSE.TREAT, PURPOSE.PUBHLTH), 0, now + 365 * 86_400));
    if (i % 5 === 2) later.push({ patient, id: own.id });
  }
  const startMs = ((await provider.getBlock("latest"))!.timestamp + 2) * 1000;
  // The trail lies in the chain's past, as a real one does; some consents were revoked since.
  await provider.send("evm_increaseTime", [86_400]);
  await provider.send("evm_mine", []);
  for (const { patient, id } of later) await (await send(patient, "revoke", [id])).wait();

  return {
    provider,
    deployment,
    deploymentFile,
    institutions,
    patients: patients.map((p) => p.address),
    permits,
    denies,
    anchorer: new Wallet(account("anchorer").privateKey, provider),
    startMs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The trail and its export

type Draft = Omit<AccessEventFields, "seq" | "prevHash">;

class EventFactory {
  /** The same trail every run. */
  private readonly rng = new SeededRandom(20_240_611);

  constructor(private readonly world: World) {}

  next(time: number, format: 1 | 2): Draft {
    const w = this.world;
    const r = this.rng.next();
    const patient = this.rng.pick(w.patients);
    const institution = this.rng.pick(w.institutions);
    const base = { format, id: this.rng.uuid(), timeMs: time, requestHash: this.rng.hex32(), consentId: ZERO_HASH };
    const plain = (actor: string) => ({ actor, requester: actor });
    if (r < BREAK_GLASS_RATE) {
      return { ...base, ...plain(institution), patient, action: 1, categories: this.someBits([CAT.conditions, CAT.medications, CAT.allergies]), purposes: bits(PURPOSE.ETREAT), decision: Decision.BreakGlass };
    }
    const rest = (r - BREAK_GLASS_RATE) / (1 - BREAK_GLASS_RATE);
    if (rest < 0.45) {
      const c = this.rng.pick(w.permits);
      const requester = c.grantee === ZeroAddress ? institution : c.grantee;
      return { ...base, ...this.askedBy(requester, format), patient: c.patient, categories: this.someBits(setBits(c.categories)), purposes: bits(this.rng.pick(setBits(c.purposes))), decision: Decision.Permit, consentId: c.id };
    }
    if (rest < 0.52) {
      const c = this.rng.pick(w.denies);
      return { ...base, ...this.askedBy(c.grantee, format), patient: c.patient, categories: this.someBits(setBits(c.categories)), purposes: bits(this.rng.pick(setBits(c.purposes))), decision: Decision.Deny, consentId: c.id };
    }
    if (rest < 0.7) {
      // Nobody consented to encounters or imaging for payment: refused.
      return { ...base, ...plain(institution), patient, action: this.rng.pick([1, 2, 4]), categories: this.someBits([CAT.encounters, CAT.imaging]), purposes: bits(PURPOSE.HPAYMT), decision: Decision.NoConsent };
    }
    if (rest < 0.85) {
      return { ...base, ...plain(patient), patient, action: this.rng.pick([1, 2]), categories: this.someBits([CAT.lab, CAT.vitals, CAT.conditions]), purposes: bits(PURPOSE.PATRQT), decision: Decision.Self };
    }
    if (rest < 0.95) {
      const c = this.rng.pick(w.permits);
      return { ...base, ...plain(c.patient), patient: c.patient, action: 5, categories: c.categories, purposes: c.purposes, decision: Decision.Recorded, consentId: c.id };
    }
    return { ...base, ...plain(institution), patient: ZeroAddress, action: 2, categories: 0, purposes: 0, decision: Decision.Rejected };
  }

  /** Mostly the requester itself; one time in ten (format 2 only) another institution consulting for it. */
  private askedBy(requester: string, format: 1 | 2): { actor: string; requester: string; action: number } {
    if (format === 2 && this.rng.next() < 0.1) {
      const custodian = this.rng.pick(this.world.institutions.filter((i) => i !== requester));
      return { actor: custodian, requester, action: 4 };
    }
    return { actor: requester, requester, action: this.rng.pick([1, 2, 4]) };
  }

  /** Accesses per second for the next second of trail: quiet spells, ordinary load and bursts. */
  rate(): number {
    return this.rng.pick([100, 300, 800, 1500, 3000]);
  }

  /** Milliseconds to the next access at `rate` accesses a second (Poisson arrivals). */
  gap(rate: number): number {
    return (-Math.log(1 - this.rng.next()) * 1000) / rate;
  }


  private someBits(from: readonly number[]): number {
    let mask = bits(this.rng.pick(from));
    if (this.rng.next() < 0.3) mask |= bits(this.rng.pick(from));
    return mask;
  }


}

function setBits(mask: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 31; b++) if (mask & (1 << b)) out.push(b);
  return out;
}

interface TrailSummary {
  file: string;
  batches: number;
  permits: number;
  denies: number;
  breakGlass: number;
}

/**
 * Numbers, chains, batches and anchors `count` events and writes the export as ExportService does (one
 * header, each batch line followed by its events with their proofs, the end line), one batch in memory.
 */
async function writeExport(world: World, file: string, count: number): Promise<TrailSummary> {
  await keccakReady();
  const factory = new EventFactory(world);
  const ledger = new Contract(world.deployment.contracts.AccessLedger.address, LEDGER_ABI, world.anchorer);
  let anchorNonce = await world.provider.getTransactionCount(world.anchorer.address, "pending");
  const checksummed = new Map<string, string>();
  const display = (address: string) => {
    let c = checksummed.get(address);
    if (!c) checksummed.set(address, (c = getAddress(address)));
    return c;
  };
  const summary: TrailSummary = { file, batches: 0, permits: 0, denies: 0, breakGlass: 0 };
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  // The range is known once the events are: a same-width placeholder header, rewritten at the end.
  const header = (from: number, to: number) => json({
    kind: "header",
    version: 2,
    chainId: world.deployment.chainId,
    accessLedger: world.deployment.contracts.AccessLedger.address,
    consentRegistry: world.deployment.contracts.ConsentRegistry.address,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    leafTypes: LEAF_TYPES,
    leafTypesV1: LEAF_TYPES_V1,
  });
  const placeholder = header(world.startMs, world.startMs);
  await write(placeholder);

  let pending: Array<{ e: AccessEventFields; leaf: Buffer }> = [];
  let batchId = 0;
  let exported = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    batchId++;
    const tree = new StandardTree(events.map((p) => p.leaf));
    const root = "0x" + tree.root.toString("hex");
    const firstSeq = events[0].e.seq;
    const lastSeq = events[events.length - 1].e.seq;
    const tx = await ledger.anchor(batchId, root, firstSeq, lastSeq, { ...TX_FEES, nonce: anchorNonce++, type: 2 });
    const receipt = await tx.wait();
    let chunk = json({ kind: "batch", batchId, root, firstSeq, lastSeq, txHash: receipt.hash, blockNumber: receipt.blockNumber, pruned: false });
    for (const { e, leaf } of events) {
      exported++;
      chunk += json({
        kind: "event",
        format: e.format,
        batchId,
        seq: e.seq,
        id: e.id,
        time: e.timeMs,
        actor: display(e.actor),
        requester: display(e.requester),
        patient: display(e.patient),
        action: e.action,
        categories: String(e.categories),
        purposes: String(e.purposes),
        decision: e.decision,
        consentId: e.consentId,
        requestHash: e.requestHash,
        prevHash: e.prevHash,
        leaf: "0x" + leaf.toString("hex"),
        proof: tree.proof(leaf).map((n) => "0x" + n.toString("hex")),
      });
    }
    await write(chunk);
    summary.batches++;
  };

  let clock = world.startMs; // fractional ms: bursts put several accesses in one millisecond
  let time = world.startMs;
  let prevHash = ZERO_HASH;
  let second = time;
  let rate = factory.rate();
  let batchOpenedAt = time;
  for (let i = 0; i < count; i++) {
    time = Math.floor(clock);
    const draft = factory.next(time, i < FORMAT_1_EVENTS ? 1 : 2);
    const e = { ...draft, seq: i + 1, prevHash } as AccessEventFields;
    // Format 1 leaves have no requester: the actor's consent was checked.
    if (e.format === 1) e.requester = e.actor;
    const leaf = keccak(keccak(encodeFields(e)));
    prevHash = "0x" + leaf.toString("hex");
    const aboutPatient = e.patient !== ZeroAddress;
    if (e.decision === Decision.Permit && aboutPatient) summary.permits++;
    if (e.decision === Decision.Deny && aboutPatient) summary.denies++;
    const breakGlass = e.decision === Decision.BreakGlass;
    if (breakGlass) {
      summary.breakGlass++;
      await flush(); // a break-glass access is anchored alone, at once
    }
    if (pending.length === 0) batchOpenedAt = time;
    pending.push({ e, leaf });
    if (breakGlass || pending.length >= BATCH_MAX_EVENTS) await flush();

    clock += factory.gap(rate);
    if (clock - second >= 1000) {
      second = clock;
      rate = factory.rate();
    }
    // The anchor timer: a batch closes BATCH_MAX_MS after its first event.
    if (pending.length > 0 && clock - batchOpenedAt >= BATCH_MAX_MS) await flush();
  }
  await flush();
  await write(json({ kind: "end", batches: summary.batches, events: exported }));
  out.end();
  await once(out, "finish");

  const final = header(world.startMs, time + 1);
  if (Buffer.byteLength(final) !== Buffer.byteLength(placeholder)) throw new Error("the header's range does not fit its placeholder");
  const handle = await open(file, "r+");
  try {
    await handle.write(final, 0);
  } finally {
    await handle.close();
  }
  return summary;
}

const json = (value: unknown) => JSON.stringify(value) + "\n";

// ---------------------------------------------------------------------------------------------------------
// Running the verifier

/**
 * The verifier bundled as `npm run verify` bundles it (its esbuild flags, read from package.json, with the
 * output sent to `outfile`). Returns the command that runs it.
 */
function bundledVerifier(outfile: string): string[] {
  const script: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.verify;
  const build = /^esbuild (\S+) ((?:--\S+ ?)+)&& node /.exec(script);
  if (!build) throw new Error(`npm run verify no longer reads "esbuild ENTRY [flags] && node …": ${script}`);
  const flags = build[2].trim().split(" ").filter((f) => !f.startsWith("--outfile="));
  execFileSync(join(ROOT, "node_modules/.bin/esbuild"), [build[1], ...flags, `--outfile=${outfile}`], { cwd: ROOT, stdio: "inherit" });
  return [process.execPath, outfile];
}

interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  peakRssKB: number;
}

const TIME = "/usr/bin/time";

/**
 * Runs the verifier, timing it from spawn to exit. Its peak RSS is the kernel's (ru_maxrss, through
 * /usr/bin/time) when that is installed, otherwise VmHWM polled every 20 ms from /proc.
 */
async function measure(command: string[], args: string[]): Promise<Measured> {
  const timed = existsSync(TIME);
  const [program, ...rest] = timed ? [TIME, "-f", "CONSENTRY_MAXRSS_KB=%M", ...command] : command;
  const started = process.hrtime.bigint();
  const child = spawn(program, [...rest, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "", NODE_PATH: join(ROOT, "node_modules") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  let peakRssKB = 0;
  const poll = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakRssKB = Math.max(peakRssKB, Number(hwm[1]));
    } catch {
      // gone, or no /proc: the report's own maxRSS stands
    }
  };
  const timer = timed ? null : setInterval(poll, 20);
  const [code] = (await once(child, "exit")) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (timer) clearInterval(timer);
  if (!child.stdout!.readableEnded) await once(child.stdout!, "end").catch(() => undefined);
  if (!child.stderr!.readableEnded) await once(child.stderr!, "end").catch(() => undefined);
  const maxrss = /CONSENTRY_MAXRSS_KB=(\d+)/.exec(stderr);
  if (maxrss) peakRssKB = Number(maxrss[1]);
  return { code, stdout, stderr, seconds, peakRssKB };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const events = Number(argv.find((a) => /^\d+$/.test(a)) ?? process.env.BENCH_VERIFIER_EVENTS ?? 100_000);
  const hold = argv.includes("--hold")
    ? async (args: string[]) => {
        console.error(`holding: npm run verify -- ${args.join(" ")}\n(Ctrl-C or SIGTERM to go on with the measured runs)`);
        await new Promise<void>((go) => ["SIGINT", "SIGTERM"].forEach((signal) => process.once(signal, () => go())));
      }
    : undefined;
  benchVerifier(events, { hold, log: (line) => console.error(line) }).then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
