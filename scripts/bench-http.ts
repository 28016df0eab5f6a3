/**
 * `npm run bench`, part two: the product as its users see it — through HTTP, under concurrent load, beside
 * a bare Fastify "hello" (the ceiling) and the naive design (one eth_call and one transaction per access),
 * all in one run on this machine. The load generator (autocannon) runs as its own process.
 *
 * The service runs on PostgreSQL when BENCH_DATABASE_URL names a role that may create databases (a fresh
 * database is made for the run), otherwise on PGlite. Writes bench-http.json and BENCHMARKS.md.
 */
import "reflect-metadata";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { Client } from "pg";
import { createApp } from "../service/app";
import { loadArtifact } from "../service/chain/artifacts";
import type { Deployment } from "../service/chain/deployment";
import { loadConfig } from "../service/config/app-config";
import { consentDomain, ENROLMENT_TYPES, GRANT_TYPES } from "../service/domain/eip712";
import { identifiersHash } from "../service/patients/identifiers";
import { PROJECT_ROOT } from "../service/paths";
import { deployContracts } from "./lib/deploy-contracts";
import { demoAccount } from "./lib/demo-accounts";
import { call, signIn } from "./lib/in-process-client";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const AUTOCANNON = join(PROJECT_ROOT, "node_modules/autocannon/autocannon.js");

interface Load {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

type App = Awaited<ReturnType<typeof createApp>>;

async function main(): Promise<void> {
  const started = Date.now();
  const report: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    settings: { durationS: DURATION_S, connections: CONNECTIONS },
  };
  // The chain in a process of its own, as in any deployment: its mining does not share the service's event loop.
  const chain = await startChainProcess();
  const provider = new JsonRpcProvider(chain.url, undefined, { cacheTimeout: -1, pollingInterval: 50 });
  const admin = await provider.getSigner(0);
  const { deployment } = await deployContracts(admin, "bench-http", {
    relayers: [demoAccount("relayer").address],
    anchorers: [demoAccount("anchorer").address],
    institutions: [demoAccount("institution", 0).address, demoAccount("institution", 1).address],
    regulators: [demoAccount("regulator").address],
  });
  const database = await benchDatabase();
  report.database = database.label;
  const { app, url } = await startService(deployment, chain.url, database.url);
  const hello = await startHello();
  const naive = await startNaive(deployment, provider);
  try {
    const ctx = await seed(app, deployment);
    const loads: Load[] = [];
    const only = process.env.BENCH_ONLY;
    const run = async (name: string, args: string[], target: string) => {
      if (only && !name.includes(only)) return { name, reqPerSec: 0, p50: 0, p99: 0, non2xx: 0, errors: 0, total: 0 };
      const load = await autocannon(name, [...args, target]);
      loads.push(load);
      console.log(`${name.padEnd(34)} ${String(load.reqPerSec).padStart(8)} req/s  p50 ${load.p50} ms  p99 ${load.p99} ms  non-2xx ${load.non2xx}`);
      return load;
    };
    const auth = (h: Record<string, string>) => ["-H", `authorization=${h.authorization}`];
    const json = (body: unknown) => ["-m", "POST", "-H", "content-type=application/json", "-b", JSON.stringify(body)];

    await run("bare Fastify hello (ceiling)", [], `${hello.url}/`);
    await run("GET /health", [], `${url}/health`);
    const auditedFrom = new Date();
    const read = await run("audited read (consented)", auth(ctx.lab), `${url}/fhir/Condition/${ctx.conditionId}?purpose=TREAT`);
    await run("audited search", auth(ctx.lab), `${url}/fhir/Condition?patient=${ctx.patient}&purpose=TREAT`);
    await run("audited refused read (no consent)", auth(ctx.lab), `${url}/fhir/Observation/${ctx.observationId}?purpose=TREAT`);
    await run("POST /consent-decisions", [...auth(ctx.hospital), ...json({ patient: ctx.patient, requester: ctx.labAddress, categories: 4, purpose: "TREAT" })], `${url}/consent-decisions`);
    await run("CDS Hooks consult", [...auth(ctx.hospital), ...json({ hook: "patient-consent-consult", hookInstance: "b", context: { patientId: [{ value: ctx.patient }], actor: [{ value: ctx.labAddress }] } })], `${url}/cds-services/patient-consent-consult`);
    const paced = await run("audited read at 1,000 req/s offered", [...auth(ctx.lab), "-R", "1000"], `${url}/fhir/Condition/${ctx.conditionId}?purpose=TREAT`);
    // Before the naive run, whose transactions would queue ahead of the service's anchors on the same chain.
    report.anchoring = await accessToAnchored(app, auditedFrom);
    const naiveLoad = await run("naive: eth_call decide + 1 tx per access", [], `${naive.url}/read`);

    report.loads = loads;
    const ceiling = loads[0].reqPerSec;
    report.ratios = {
      readVsCeiling: round(read.reqPerSec / ceiling, 4),
      readVsNaive: round(read.reqPerSec / Math.max(1, naiveLoad.reqPerSec), 1),
      pacedP99Ms: paced.p99,
    };
    report.devStack = await devStackStartup();
    report.durationS = Math.round((Date.now() - started) / 1000);
    writeFileSync("bench-http.json", JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(PROJECT_ROOT, "BENCHMARKS.md"), benchmarksMd(report, loads));
    console.log("\nwrote bench-http.json and BENCHMARKS.md");
  } finally {
    hello.child.kill("SIGKILL");
    await naive.close();
    await app.close();
    await database.drop();
    provider.destroy();
    chain.child.kill("SIGKILL");
  }
}

/** A fresh PostgreSQL database when BENCH_DATABASE_URL allows it; PGlite otherwise. */
async function benchDatabase(): Promise<{ url?: string; label: string; drop(): Promise<void> }> {
  const admin = process.env.BENCH_DATABASE_URL;
  if (!admin) return { label: "PGlite (in memory): set BENCH_DATABASE_URL for PostgreSQL", drop: async () => undefined };
  const name = `consentry_bench_${randomBytes(4).toString("hex")}`;
  const withClient = async (sql: string) => {
    const client = new Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await withClient(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    label: "PostgreSQL 15 (a fresh database on this machine)",
    drop: () => withClient(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function startService(deployment: Deployment, chainUrl: string, databaseUrl?: string): Promise<{ app: App; url: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "consentry-bench-")), "deployment.json");
  writeFileSync(file, JSON.stringify(deployment));
  const config = loadConfig({
    CHAIN_RPC_URL: chainUrl,
    DEPLOYMENT: file,
    JWT_SECRET: randomBytes(32).toString("hex"),
    MASTER_KEY: randomBytes(32).toString("hex"),
    RELAYER_PRIVATE_KEY: demoAccount("relayer").privateKey,
    ANCHORER_PRIVATE_KEY: demoAccount("anchorer").privateKey,
    LOG_LEVEL: "error",
    // Benchmarks drive one account far past any per-minute limit.
    RATE_LIMIT_PER_MINUTE: "0",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

/** A Hardhat JSON-RPC node in a process of its own (like `hardhat node`). */
async function startChainProcess(): Promise<{ child: ChildProcess; url: string }> {
  const source = `require("./scripts/lib/local-chain").startLocalChain(0).then((c) => console.log("CHAIN " + c.url))`;
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", source], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const match = /CHAIN (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1]);
    });
    child.on("exit", () => reject(new Error("chain process exited")));
  });
  return { child, url };
}

/** Fastify answering "hello" in a process of its own: the ceiling of any HTTP service on this machine. */
async function startHello(): Promise<{ child: ChildProcess; url: string }> {
  const source = `
    const app = require("fastify")();
    app.get("/", async () => ({ hello: "world" }));
    app.listen({ port: 0, host: "127.0.0.1" }).then(() => console.log("PORT " + app.server.address().port));
  `;
  const child = spawn(process.execPath, ["-e", source], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const match = /PORT (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.on("exit", () => reject(new Error("hello server exited")));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/**
 * The design Consentry exists to beat: each access asks the contract for a decision (eth_call) and writes
 * itself to the chain in a transaction of its own, awaited before answering, spread over 8 sender keys.
 */
async function startNaive(deployment: Deployment, provider: JsonRpcProvider): Promise<{ url: string; close(): Promise<void> }> {
  const fastify = require("fastify")();
  const registry = new Contract(deployment.contracts.ConsentRegistry.address, loadArtifact("ConsentRegistry").abi, provider);
  const senders = await Promise.all(Array.from({ length: 8 }, (_, i) => provider.getSigner(10 + i)));
  const patient = demoAccount("patient", 0).address;
  const lab = demoAccount("institution", 1).address;
  let next = 0;
  fastify.get("/read", async () => {
    const now = (await provider.getBlock("latest"))!.timestamp;
    const [decision] = await registry.decide(patient, lab, 4, 1, now);
    const sender = senders[next++ % senders.length];
    const tx = await sender.sendTransaction({ to: await sender.getAddress(), data: "0x" + randomBytes(32).toString("hex") });
    await tx.wait();
    return { decision: Number(decision) };
  });
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  return { url: `http://127.0.0.1:${fastify.server.address().port}`, close: () => fastify.close() };
}

interface SeedContext {
  lab: Record<string, string>;
  hospital: Record<string, string>;
  labAddress: string;
  patient: string;
  conditionId: string;
  observationId: string;
}

/** Alice enrolled at the hospital with a condition and a lab result; a consent lets the lab read her conditions. */
async function seed(app: App, deployment: Deployment): Promise<SeedContext> {
  const alice = new Wallet(demoAccount("patient", 0).privateKey);
  const hospitalWallet = new Wallet(demoAccount("institution", 0).privateKey);
  const labWallet = new Wallet(demoAccount("institution", 1).privateKey);
  const hospital = await signIn(app, hospitalWallet);
  const deadline = Math.floor(Date.now() / 1000) + 3600;
  const identifiers = [{ system: "urn:bench:mrn", value: "1" }];
  const enrolment = await alice.signTypedData(consentDomain(deployment), ENROLMENT_TYPES, {
    patient: alice.address,
    custodian: hospitalWallet.address,
    identifiersHash: identifiersHash(identifiers),
    deadline,
  });
  await call(app, "POST", "/patients/enrol", hospital, { patient: alice.address, identifiers, deadline, signature: enrolment });
  const did = `did:pkh:eip155:${deployment.chainId}:${alice.address}`;
  const condition = await call(app, "POST", "/fhir/Condition", hospital, {
    resourceType: "Condition",
    clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
    code: { coding: [{ system: "http://snomed.info/sct", code: "44054006", display: "Diabetes mellitus type 2" }] },
    subject: { identifier: { system: "urn:ietf:rfc:3986", value: did } },
  });
  const observation = await call(app, "POST", "/fhir/Observation", hospital, {
    resourceType: "Observation",
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
    code: { coding: [{ system: "http://loinc.org", code: "2339-0", display: "Glucose" }] },
    subject: { identifier: { system: "urn:ietf:rfc:3986", value: did } },
    valueQuantity: { value: 6.3, unit: "mmol/L" },
  });
  const aliceAuth = await signIn(app, alice);
  const terms = { patient: alice.address, grantee: labWallet.address, categories: 1 << 2, purposes: 1, effect: 0, validFrom: 0, validUntil: 0 };
  const signature = await alice.signTypedData(consentDomain(deployment), GRANT_TYPES, { ...terms, nonce: "0", deadline });
  const granted = await call(app, "POST", "/consents", aliceAuth, { terms, nonce: "0", deadline, signature, wait: true });
  if (condition.status !== 201 || observation.status !== 201 || granted.status !== 201) throw new Error("seeding failed");
  return {
    lab: await signIn(app, labWallet),
    hospital,
    labAddress: labWallet.address,
    patient: alice.address,
    conditionId: condition.body.id,
    observationId: observation.body.id,
  };
}

/**
 * How long events recorded under load waited to be anchored. Event times follow the chain's clock, which a
 * dev chain runs ahead of the wall clock, so the wait is bounded from the database's own clock instead: an
 * event of batch k was committed after batch k−1 was built (and after the audited loads began), so it waited
 * at most from then until batch k was confirmed. Percentiles over events (each batch weighted by its size):
 * an upper bound.
 */
async function accessToAnchored(app: App, loadsFrom: Date) {
  const { DataSource } = await import("typeorm");
  const db = app.get(DataSource);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [row] = await db.query(`SELECT count(*)::int AS n FROM access_events e LEFT JOIN anchor_batches b ON b.batch_id = e.batch_id WHERE b.state IS DISTINCT FROM 'confirmed'`);
    if (row.n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const rows: Array<{ events: number; wait_ms: number }> = await db.query(
    `SELECT b.last_seq - b.first_seq + 1 AS events, extract(epoch FROM b.anchored_at - greatest(p.created_at, $1)) * 1000 AS wait_ms
       FROM anchor_batches b JOIN anchor_batches p ON p.batch_id = b.batch_id - 1
      WHERE b.state = 'confirmed' AND b.anchored_at > $1 ORDER BY wait_ms`,
    [loadsFrom],
  );
  const total = rows.reduce((n, r) => n + Number(r.events), 0);
  const at = (q: number) => {
    let seen = 0;
    for (const r of rows) if ((seen += Number(r.events)) >= q * total) return Math.round(Number(r.wait_ms));
    return 0;
  };
  return { events: total, batches: rows.length, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** `npm start` from a warm install: time until its banner, and its memory then (the whole process tree). */
async function devStackStartup(): Promise<{ readyMs: number; rssMB: number } | { error: string }> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [join(PROJECT_ROOT, "node_modules/ts-node/dist/bin.js"), "--transpile-only", "scripts/dev.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: "0", CHAIN_PORT: "0", LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  try {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (out.includes("Ctrl-C stops")) {
          clearInterval(timer);
          resolve(true);
        } else if (Date.now() - startedAt > 120_000 || child.exitCode !== null) {
          clearInterval(timer);
          resolve(false);
        }
      }, 50);
    });
    if (!ready) return { error: "npm start did not print its banner within 120 s" };
    const readyMs = Date.now() - startedAt;
    const rssKB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0);
    return { readyMs, rssMB: Math.round(rssKB / 1024) };
  } finally {
    child.kill("SIGTERM");
  }
}

function autocannon(name: string, args: string[]): Promise<Load> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [AUTOCANNON, "-j", "-c", String(CONNECTIONS), "-d", String(DURATION_S), ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error && !stdout) return reject(error);
      const r = JSON.parse(stdout);
      resolve({
        name,
        reqPerSec: Math.round(r.requests.average),
        p50: r.latency.p50,
        p99: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        total: r.requests.total,
      });
    });
  });
}

function benchmarksMd(report: Record<string, unknown>, loads: Load[]): string {
  const m = report.machine as { node: string; cpus: number; cpuModel: string; memoryGiB: number };
  const ceiling = loads[0].reqPerSec;
  const naive = loads.find((l) => l.name.startsWith("naive"))!.reqPerSec;
  const anchoring = report.anchoring as { events: number; p50Ms: number; p99Ms: number };
  const dev = report.devStack as { readyMs?: number; rssMB?: number; error?: string };
  const rows = loads.map(
    (l) =>
      `| ${l.name} | ${l.reqPerSec.toLocaleString("en")} | ${l.p50} / ${l.p99} | ${(l.reqPerSec / ceiling).toFixed(3)} | ${(l.reqPerSec / Math.max(1, naive)).toFixed(1)}× | ${l.non2xx} |`,
  );
  return `# Benchmarks

Written by \`npm run bench\` (\`scripts/bench-http.ts\`) on ${report.at as string}. One run, one machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; the load generator (autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per line) on the same machine, in a process of its own. Database: ${report.database as string}; chain: a Hardhat JSON-RPC node in its own process (automine).

| what | req/s | p50 / p99 ms | vs ceiling | vs naive | non-2xx |
|---|--:|--:|--:|--:|--:|
${rows.join("\n")}

- The ceiling is a bare Fastify "hello" in a process of its own; the naive design asks \`ConsentRegistry.decide\` by eth_call and writes one transaction per access (8 sender keys), awaiting it before answering.
- "refused read" answers 403 by design (non-2xx counts those).
- Access to anchored, over the ${anchoring.events.toLocaleString("en")} events recorded during the run (upper bound: from the build of the batch before an event's own to its own batch confirmed on chain): p50 ${anchoring.p50Ms} ms, p99 ${anchoring.p99Ms} ms.
- \`npm start\` from a warm install: ${dev.error ?? `ready (banner printed) in ${((dev.readyMs ?? 0) / 1000).toFixed(1)} s, ${dev.rssMB} MB resident`}.
- Internal figures (group commit, Merkle build, gas per access, decision latency, revocation freshness, trail monitor) are in \`bench-report.json\` from the first part of \`npm run bench\`.

Reproduce: \`BENCH_DATABASE_URL=postgres://user:pass@127.0.0.1:5432/postgres npm run bench\` (a role that may create databases).
`;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
