/**
 * `npm run bench`: the performance figures that matter, each as a ratio against a baseline measured in
 * the same process on the same machine (absolute numbers move between machines; ratios mostly do not).
 *
 *   group commit      access events committed per second, grouped vs one transaction each
 *   merkle            building a 10,000-leaf tree, hash-wasm loop vs @openzeppelin/merkle-tree
 *   decision          POST /consent-decisions latency vs GET /health through the same HTTP stack
 *   gas by size       gas per access when a batch holds 1, 100, 1,000 and 10,000 events
 *   anchoring         gas per access at the default batch size vs one access per batch
 *   freshness         time from a revocation being mined to the first refusal (API and direct on chain)
 *
 * Runs on Hardhat's in-process chain and PGlite (or DATABASE_URL). Writes bench-report.json.
 */
import "reflect-metadata";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { BrowserProvider, Contract, Wallet, ZeroAddress, type Signer } from "ethers";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../service/app";
import { LEAF_TYPES, leafHash, leafValues, type AccessEventFields } from "../service/audit/access-event";
import { AccessEventRepository } from "../service/audit/access-event.repository";
import { AccessLogService } from "../service/audit/access-log.service";
import { keccakReady } from "../service/audit/keccak";
import { StandardTree } from "../service/audit/merkle";
import { TrailMonitor } from "../service/audit/trail-monitor.service";
import { loadArtifact } from "../service/chain/artifacts";
import type { Deployment } from "../service/chain/deployment";
import { loadConfig } from "../service/config/app-config";
import { consentDomain, ENROLMENT_TYPES, GRANT_TYPES, REVOKE_TYPES } from "../service/domain/eip712";
import { identifiersHash } from "../service/patients/identifiers";
import { deployContracts } from "./lib/deploy-contracts";
import { demoAccount } from "./lib/demo-accounts";
import { call, signIn } from "./lib/in-process-client";

type App = Awaited<ReturnType<typeof createApp>>;
const report: Record<string, unknown> = { machine: { node: process.version, cpus: require("node:os").cpus().length }, at: new Date().toISOString() };

async function main(): Promise<void> {
  await keccakReady();
  report.merkle = benchMerkle(10_000);
  print("merkle", report.merkle);

  const hre = require("hardhat");
  const provider = new BrowserProvider(hre.network.provider, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 20 });
  const admin = await provider.getSigner(0);
  const { deployment } = await deployContracts(admin, "bench", {
    relayers: [demoAccount("relayer").address],
    anchorers: [demoAccount("anchorer").address],
    institutions: [demoAccount("institution", 0).address, demoAccount("institution", 1).address],
    regulators: [demoAccount("regulator").address],
  });

  report.gasBySize = await benchGasBySize(admin, await provider.getSigner(19));
  print("gas by size", report.gasBySize);

  const app = await start(deployment, provider, {});
  try {
    report.groupCommit = await benchGroupCommit(app, 2_000);
    print("group commit", report.groupCommit);
    const ctx = await setUpPatient(app, deployment);
    report.decision = await benchDecision(app, ctx, 300);
    print("decision", report.decision);
    report.freshness = await benchFreshness(app, provider, deployment, ctx);
    print("freshness", report.freshness);
    report.anchoring = await benchAnchoring(app, provider, deployment, ctx);
    print("anchoring", report.anchoring);
    report.trailMonitor = await benchTrailMonitor(app);
    print("trail monitor", report.trailMonitor);
  } finally {
    await app.close();
  }
  writeFileSync("bench-report.json", JSON.stringify(report, null, 2) + "\n");
  console.log("\nwrote bench-report.json");
}

function benchMerkle(leaves: number) {
  const events: AccessEventFields[] = Array.from({ length: leaves }, (_, i) => ({
    format: 2, seq: i + 1, id: randomUUID(), timeMs: Date.now(), actor: "0x" + randomBytes(20).toString("hex"), requester: "0x" + randomBytes(20).toString("hex"), patient: "0x" + randomBytes(20).toString("hex"),
    action: 1, categories: 8, purposes: 1, decision: 1, consentId: "0x" + randomBytes(32).toString("hex"),
    requestHash: "0x" + randomBytes(32).toString("hex"), prevHash: "0x" + randomBytes(32).toString("hex"),
  }));
  const t0 = performance.now();
  const oz = StandardMerkleTree.of(events.map(leafValues), [...LEAF_TYPES]);
  const baselineMs = performance.now() - t0;
  const t1 = performance.now();
  const fast = new StandardTree(events.map(leafHash));
  const fastMs = performance.now() - t1;
  if (oz.root !== "0x" + fast.root.toString("hex")) throw new Error("roots differ");
  return { leaves, openzeppelinMs: round(baselineMs), fastMs: round(fastMs), speedup: round(baselineMs / fastMs) };
}

async function benchGroupCommit(app: App, events: number) {
  const repo = app.get(AccessEventRepository);
  const log = app.get(AccessLogService);
  const actor = demoAccount("institution").address;
  const draft = () => ({ actor, patient: ZeroAddress, action: 4, decision: 0, request: { method: "POST", path: "/bench" } });
  const t0 = performance.now();
  for (let i = 0; i < events / 10; i++) {
    await repo.append([{ id: randomUUID(), timeMs: Date.now(), actor, requester: actor, patient: ZeroAddress, action: 4, categories: 0, purposes: 0, decision: 0, consentId: "0x" + "00".repeat(32), requestHash: "0x" + "00".repeat(32), resourceType: null, resourceId: null, justification: null }]);
  }
  const singlePerSec = (events / 10) / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  await Promise.all(Array.from({ length: events }, () => log.record(draft())));
  const groupedPerSec = events / ((performance.now() - t1) / 1000);
  return { events, oneTransactionEachPerSec: round(singlePerSec), groupCommitPerSec: round(groupedPerSec), speedup: round(groupedPerSec / singlePerSec) };
}

interface PatientContext {
  patient: Wallet;
  hospital: Record<string, string>;
  patientAuth: Record<string, string>;
  consentId: string;
}

async function setUpPatient(app: App, deployment: Deployment): Promise<PatientContext> {
  const patient = new Wallet(demoAccount("patient", 0).privateKey);
  const hospitalWallet = new Wallet(demoAccount("institution", 0).privateKey);
  const hospital = await signIn(app, hospitalWallet);
  const domain = consentDomain(deployment);
  const identifiers = [{ system: "urn:bench", value: "1" }];
  const deadline = Math.floor(Date.now() / 1000) + 3600;
  const signature = await patient.signTypedData(domain, ENROLMENT_TYPES, { patient: patient.address, custodian: hospitalWallet.address, identifiersHash: identifiersHash(identifiers), deadline });
  await call(app, "POST", "/patients/enrol", hospital, { patient: patient.address, identifiers, deadline, signature });
  const patientAuth = await signIn(app, patient);
  const consentId = await grant(app, deployment, patient, patientAuth);
  return { patient, hospital, patientAuth, consentId };
}

async function grant(app: App, deployment: Deployment, patient: Wallet, auth: Record<string, string>): Promise<string> {
  const nonce = await nonceOf(deployment, patient.address);
  const terms = { patient: patient.address, grantee: demoAccount("institution", 0).address, categories: 8, purposes: 1, effect: 0, validFrom: 0, validUntil: 0 };
  const deadline = Math.floor(Date.now() / 1000) + 3600;
  const signature = await patient.signTypedData(consentDomain(deployment), GRANT_TYPES, { ...terms, nonce, deadline });
  const res = await call(app, "POST", "/consents", auth, { terms, nonce, deadline, signature, wait: true });
  if (res.status !== 201) throw new Error(`grant failed: ${JSON.stringify(res.body)}`);
  return res.body.consentId;
}

function registryFor(deployment: Deployment, runner?: Wallet): Contract {
  const provider = new BrowserProvider(require("hardhat").network.provider, undefined, { cacheTimeout: -1 });
  return new Contract(deployment.contracts.ConsentRegistry.address, loadArtifact("ConsentRegistry").abi, runner ? runner.connect(provider) : provider);
}

async function nonceOf(deployment: Deployment, address: string): Promise<string> {
  return ((await registryFor(deployment).nonces(address)) as bigint).toString();
}

async function benchDecision(app: App, ctx: PatientContext, rounds: number) {
  const body = { patient: ctx.patient.address, categories: 8, purpose: "TREAT" };
  const health = await timeEach(rounds, () => call(app, "GET", "/health", {}));
  const decide = await timeEach(rounds, () => call(app, "POST", "/consent-decisions", ctx.hospital, body));
  return { rounds, healthP50Ms: health.p50, decisionP50Ms: decide.p50, decisionP95Ms: decide.p95, decisionVsHealth: round(decide.p50 / health.p50) };
}

/** From a revocation's receipt to the first decision that no longer permits. */
async function benchFreshness(app: App, provider: BrowserProvider, deployment: Deployment, ctx: PatientContext) {
  const body = { patient: ctx.patient.address, categories: 8, purpose: "TREAT" };
  const untilRefused = async () => {
    for (;;) if ((await call(app, "POST", "/consent-decisions", ctx.hospital, body)).body.decision !== "permit") return performance.now();
  };
  // Through the API, without waiting: the relayer sends it, the indexer sees it on its next poll.
  await revokeActive(app, deployment, ctx);
  const viaApi = await grant(app, deployment, ctx.patient, ctx.patientAuth);
  const deadline = Math.floor(Date.now() / 1000) + 3600;
  const signature = await ctx.patient.signTypedData(consentDomain(deployment), REVOKE_TYPES, { consentId: viaApi, deadline });
  const sent = await call(app, "POST", `/consents/${viaApi}/revoke`, ctx.patientAuth, { deadline, signature });
  while (!(await provider.getTransactionReceipt(sent.body.transaction.hash))) await new Promise((r) => setTimeout(r, 5));
  const apiMined = performance.now();
  const apiRefused = await untilRefused();
  // Directly on chain by the patient's wallet: the service learns of it only from the chain.
  const direct = await grant(app, deployment, ctx.patient, ctx.patientAuth);
  await (await registryFor(deployment, ctx.patient).revoke(direct)).wait();
  const directMined = performance.now();
  const directRefused = await untilRefused();
  return {
    apiRevokeMinedToFirstRefusalMs: round(apiRefused - apiMined),
    directRevokeMinedToFirstRefusalMs: round(directRefused - directMined),
    indexerPollMs: 500,
  };
}

async function revokeActive(app: App, deployment: Deployment, ctx: PatientContext): Promise<void> {
  const listed = await call(app, "GET", `/consents?patient=${ctx.patient.address}`, ctx.patientAuth);
  for (const c of listed.body.filter((x: { status: string }) => x.status === "active")) {
    await (await registryFor(deployment, ctx.patient).revoke(c.consentId)).wait();
  }
}

async function benchAnchoring(app: App, provider: BrowserProvider, deployment: Deployment, ctx: PatientContext) {
  const ledger = new Contract(deployment.contracts.AccessLedger.address, loadArtifact("AccessLedger").abi, provider);
  const batchesAfter = async (batchId: number) => {
    const out: Array<{ events: number; gas: number }> = [];
    for (const log of await ledger.queryFilter(ledger.filters.BatchAnchored(), 0)) {
      const a = ledger.interface.parseLog(log)!.args;
      if (Number(a.batchId) <= batchId) continue;
      out.push({ events: Number(a.lastSeq - a.firstSeq) + 1, gas: Number((await provider.getTransactionReceipt(log.transactionHash))!.gasUsed) });
    }
    return out;
  };
  const body = { patient: ctx.patient.address, categories: 8, purpose: "TREAT" };
  await settle(ledger, app);
  // Baseline: one access anchored on its own.
  let before = Number(await ledger.batchCount());
  await call(app, "POST", "/consent-decisions", ctx.hospital, body);
  await settle(ledger, app);
  const alone = await batchesAfter(before);
  // Default batch size (BATCH_MAX_EVENTS 1000, BATCH_MAX_MS 1000) under a burst of concurrent requests.
  before = Number(await ledger.batchCount());
  const burst = 3_000;
  await Promise.all(Array.from({ length: burst }, () => call(app, "POST", "/consent-decisions", ctx.hospital, body)));
  await settle(ledger, app);
  const grouped = await batchesAfter(before);
  const events = grouped.reduce((n, b) => n + b.events, 0);
  const gas = grouped.reduce((n, b) => n + b.gas, 0);
  const baseline = alone.reduce((n, b) => n + b.gas, 0) / alone.reduce((n, b) => n + b.events, 0);
  return {
    burst,
    batches: grouped.length,
    eventsPerTransaction: round(events / grouped.length),
    gasPerAccess: round(gas / events),
    gasPerAccessAnchoredAlone: round(baseline),
    saving: round(baseline / (gas / events)),
  };
}

/**
 * Gas per access by batch size: one AccessLedger.anchor per size on a ledger of its own, exactly the call the
 * anchoring service makes (a root, the batch id and its range). Its cost does not depend on the batch's size.
 */
async function benchGasBySize(admin: Signer, anchorer: Signer) {
  // The admin may not anchor (separation of duties): a key of its own, as the service's anchorer has.
  const { deployment } = await deployContracts(admin, "bench-gas", { anchorers: [await anchorer.getAddress()] });
  const ledger = new Contract(deployment.contracts.AccessLedger.address, loadArtifact("AccessLedger").abi, anchorer);
  const out: Array<{ events: number; gas: number; gasPerAccess: number }> = [];
  let firstSeq = 1;
  for (const [i, events] of [1, 100, 1_000, 10_000].entries()) {
    const receipt = await (await ledger.anchor(i + 1, "0x" + randomBytes(32).toString("hex"), firstSeq, firstSeq + events - 1)).wait();
    out.push({ events, gas: Number(receipt.gasUsed), gasPerAccess: round(Number(receipt.gasUsed) / events) });
    firstSeq += events;
  }
  return out;
}

async function settle(ledger: Contract, app: App): Promise<void> {
  const repo = app.get(AccessEventRepository);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (Number(await ledger.nextSeq()) === (await repo.lastSeq()) + 1) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("anchoring did not catch up");
}

/** What the trail's self-check costs: one full sweep (leaves, links, roots, chain roots) of everything recorded so far. */
async function benchTrailMonitor(app: App) {
  const monitor = app.get(TrailMonitor);
  const sweeps = monitor.report().sweeps;
  while (monitor.report().sweeps === sweeps) await monitor.check(); // start at the beginning of a sweep
  const before = monitor.report();
  const t0 = performance.now();
  while (monitor.report().sweeps === before.sweeps) await monitor.check();
  const ms = performance.now() - t0;
  const after = monitor.report();
  const events = after.eventsChecked - before.eventsChecked;
  return { ok: after.ok, eventsSwept: events, sweepMs: round(ms), eventsPerSec: Math.round(events / (ms / 1000)) };
}

async function start(deployment: Deployment, provider: BrowserProvider, env: Record<string, string>): Promise<App> {
  const file = join(mkdtempSync(join(tmpdir(), "consentry-bench-")), "deployment.json");
  writeFileSync(file, JSON.stringify(deployment));
  const config = loadConfig({
    CHAIN_RPC_URL: "http://127.0.0.1:8545",
    DEPLOYMENT: file,
    JWT_SECRET: randomBytes(32).toString("hex"),
    MASTER_KEY: randomBytes(32).toString("hex"),
    RELAYER_PRIVATE_KEY: demoAccount("relayer").privateKey,
    ANCHORER_PRIVATE_KEY: demoAccount("anchorer").privateKey,
    LOG_LEVEL: "error",
    RATE_LIMIT_PER_MINUTE: "0",
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...env,
  });
  return createApp(config, { provider });
}

async function timeEach(rounds: number, run: () => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { p50: round(samples[Math.floor(rounds / 2)]), p95: round(samples[Math.floor(rounds * 0.95)]) };
}

const round = (n: number) => Math.round(n * 100) / 100;
const print = (name: string, value: unknown) => console.log(`${name.padEnd(14)} ${JSON.stringify(value)}`);

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
