import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, type JsonRpcApiProvider } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { AccessAction, AccessDecision } from "../../service/domain/access-codes";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { runTs, type RunningProcess } from "../support/process";
import { pollUntil, READY_TIMEOUT_MS, SETTLE_TIMEOUT_MS, testChainProvider } from "../support/ready";
import { writeTempDeployment, type TestService } from "../support/service";
import { startServiceProcess } from "../support/service-process";
import { labObservation } from "../support/synthea";
import { anchoredRanges, pgQuery } from "../support/trail-assertions";
import { readLines, runVerifyCli, tempDir } from "../verify/helpers";

/** Requests in the load, and how many run at once. */
const REQUESTS = 300;
const CONCURRENCY = 12;
/** The leader is killed once this many requests have been answered. */
const KILL_AFTER = 100;
/** Longest the survivor may take to lead indexing and anchoring after the leader dies. */
const TAKEOVER_MS = 15_000;

const INDEXER_LEADS = /Consent indexer leadership acquired/;
const ANCHORER_LEADS = /Anchorer leadership acquired/;

type Kind = "permit" | "refuse" | "decide";
interface Sent {
  kind: Kind;
  instance: "A" | "B";
  /** The unique patient a decision asked about: its event is found by it. */
  tag?: string;
  /** HTTP status, or 0 when no answer came (the instance died under it, or refused the connection). */
  status: number;
}

/**
 * Two service processes on one PostgreSQL database and one chain, both serving audited reads and decisions
 * under concurrent load. The leader — the instance holding the indexer's and the anchorer's leases
 * (advisory locks), which it logs when it takes them — is SIGKILLed mid-load. The other takes both leases
 * within seconds, and afterwards: every access answered 2xx or 403 is in the trail exactly once, no event
 * is anchored twice (batches contiguous from 1, AccessLedger.nextSeq = last seq + 1, every batch confirmed
 * once in the database), and the regulator's verifier passes on the export. PostgreSQL only: PGlite lives
 * inside one process.
 */
(process.env.TEST_DATABASE_URL ? describe : describe.skip)("failover between two instances", () => {
  let node: RunningProcess;
  let chainUrl: string;
  let deployment: Deployment;
  let deploymentFile: string;
  let database: TestDatabase;
  let provider: JsonRpcApiProvider;
  const running: RunningProcess[] = [];

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    provider = testChainProvider(chainUrl);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    deploymentFile = writeTempDeployment(deployment);
    database = await testDatabase();
  }, READY_TIMEOUT_MS);

  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    await Promise.all(running.map((proc) => proc.exited));
    provider?.destroy();
    node?.child.kill("SIGKILL");
    await database?.drop();
  });

  it(
    "the survivor takes over indexing and anchoring; every answered access is in the trail once, anchored once, and verifies",
    async () => {
      const env = {
        CHAIN_RPC_URL: chainUrl,
        DEPLOYMENT: deploymentFile,
        LOG_LEVEL: "log",
        BATCH_MAX_MS: "200",
        BATCH_MAX_EVENTS: "25",
        AUDIT_RETENTION_DAYS: "0",
        ...database.settings,
      };
      const started = Date.now();
      // A starts first and takes the leases; B starts once A leads, and waits its turn.
      const a = await startServiceProcess(env);
      running.push(a.proc);
      await a.proc.waitFor(INDEXER_LEADS);
      await a.proc.waitFor(ANCHORER_LEADS);
      const b = await startServiceProcess(env);
      running.push(b.proc);
      const api = { A: client(a.url), B: client(b.url) };

      // The data read under load, written through A: a patient enrolled at the hospital, a lab result, a consent for the lab.
      const fixture = consentClient(api.A, provider, deployment);
      const alice = walletOf("patient", 0);
      const hospitalAuth = await fixture.signIn(walletOf("institution", 0));
      expect((await fixture.enrol(alice, hospitalAuth)).status).toBe(201);
      const obs = await api.A.request({ method: "POST", url: "/fhir/Observation", headers: hospitalAuth, payload: labObservation(`did:pkh:eip155:31337:${alice.address}`) });
      expect(obs.status).toBe(201);
      const signed = await fixture.signGrant(alice, fixture.terms(alice, { grantee: walletOf("institution", 1).address, categories: 1 << 3 }));
      const aliceAuth = await fixture.signIn(alice);
      expect((await api.A.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } })).status).toBe(201);
      // Tokens are the service's (one JWT secret): valid at either instance.
      const labAuth = await fixture.signIn(walletOf("institution", 1));
      const regulatorAuth = await fixture.signIn(walletOf("regulator", 0));
      // B serves too, and leads nothing while A lives.
      expect((await api.B.request({ method: "GET", url: `/fhir/Observation/${obs.body.id}?purpose=TREAT`, headers: labAuth })).status).toBe(200);
      expect(b.proc.stdout()).not.toMatch(INDEXER_LEADS);
      expect(b.proc.stdout()).not.toMatch(ANCHORER_LEADS);
      const ready = Date.now();

      // The load: reads permitted (200) and refused (403: purpose not consented), and decisions about unique patients (200).
      const sent: Sent[] = [];
      let answered = 0;
      let aAlive = true;
      let killedAt = 0;
      const one = async (i: number): Promise<void> => {
        const kind: Kind = (["permit", "refuse", "decide"] as const)[i % 3];
        const instance = aAlive && i % 2 === 0 ? "A" : "B";
        const target = api[instance];
        const entry: Sent = { kind, instance, status: 0 };
        sent.push(entry);
        try {
          if (kind === "decide") {
            entry.tag = Wallet.createRandom().address.toLowerCase();
            const res = await target.request({ method: "POST", url: "/consent-decisions", headers: hospitalAuth, payload: { patient: entry.tag, categories: 1 << 2, purpose: "TREAT" } });
            entry.status = res.status;
          } else {
            const purpose = kind === "permit" ? "TREAT" : "HRESCH";
            entry.status = (await target.request({ method: "GET", url: `/fhir/Observation/${obs.body.id}?purpose=${purpose}`, headers: labAuth })).status;
          }
        } catch {
          entry.status = 0; // no answer: the instance died, or its port is gone
        }
        if (entry.status !== 0 && ++answered === KILL_AFTER && aAlive) {
          // The leader dies mid-load, without a chance to release anything.
          aAlive = false;
          killedAt = Date.now();
          a.proc.child.kill("SIGKILL");
        }
      };
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < REQUESTS) await one(next++);
        }),
      );
      expect(killedAt).toBeGreaterThan(0);
      expect(await a.proc.exited).toEqual({ code: null, signal: "SIGKILL" });

      // B takes over indexing and anchoring within seconds.
      await b.proc.waitFor(INDEXER_LEADS, TAKEOVER_MS);
      await b.proc.waitFor(ANCHORER_LEADS, TAKEOVER_MS);
      const tookOverMs = Date.now() - killedAt;
      expect(tookOverMs).toBeLessThan(TAKEOVER_MS);

      // Both instances answered under load, before the kill and B after it.
      const ok = (s: Sent) => s.status === 200 || s.status === 403;
      expect(sent.filter((s) => s.instance === "A" && ok(s)).length).toBeGreaterThan(20);
      expect(sent.filter((s) => s.instance === "B" && ok(s)).length).toBeGreaterThan(100);
      expect(sent.filter((s) => s.kind === "permit" && ok(s)).every((s) => s.status === 200)).toBe(true);
      expect(sent.filter((s) => s.kind === "refuse" && ok(s)).every((s) => s.status === 403)).toBe(true);

      // Everything recorded ends up anchored by B: AccessLedger.nextSeq = last seq + 1.
      const lastSeq = async () => (await pgQuery<{ n: number }>(database.settings.DATABASE_URL!, "SELECT coalesce(max(seq), 0)::int AS n FROM access_events"))[0].n;
      await pollUntil("every event to be anchored", async () => (await anchoredRanges(provider, deployment)).nextSeq === (await lastSeq()) + 1, { timeoutMs: SETTLE_TIMEOUT_MS, stepMs: 250 });
      const recorded = await lastSeq();
      const { batches, nextSeq } = await anchoredRanges(provider, deployment);
      expect(nextSeq).toBe(recorded + 1);
      // Nothing anchored twice: batch ids 1..n, each once, their ranges contiguous from seq 1 to the last.
      expect(batches.map((x) => x.batchId)).toEqual(batches.map((_, i) => i + 1));
      expect(batches[0].firstSeq).toBe(1);
      for (let i = 1; i < batches.length; i++) expect(batches[i].firstSeq).toBe(batches[i - 1].lastSeq + 1);
      expect(batches.at(-1)!.lastSeq).toBe(recorded);
      // The database agrees: one confirmed batch per batch on chain, same ranges and roots; every event in one.
      await pollUntil("every batch confirmed in the database", async () => {
        const rows = await pgQuery<{ n: number }>(database.settings.DATABASE_URL!, "SELECT count(*)::int AS n FROM anchor_batches WHERE state <> 'confirmed'");
        return rows[0].n === 0;
      });
      const stored = await pgQuery<{ batch_id: string; first_seq: string; last_seq: string; root: string }>(
        database.settings.DATABASE_URL!,
        "SELECT batch_id, first_seq, last_seq, root FROM anchor_batches ORDER BY batch_id",
      );
      expect(stored.map((r) => ({ batchId: Number(r.batch_id), root: r.root, firstSeq: Number(r.first_seq), lastSeq: Number(r.last_seq) }))).toEqual(batches);
      const [{ n: unbatched }] = await pgQuery<{ n: number }>(database.settings.DATABASE_URL!, "SELECT count(*)::int AS n FROM access_events WHERE batch_id IS NULL");
      expect(unbatched).toBe(0);

      // Every access answered 2xx/403 is in the trail exactly once; one that got no answer at most once.
      const events = await pgQuery<{ actor: string; patient: string; action: number; decision: number }>(
        database.settings.DATABASE_URL!,
        "SELECT actor, patient, action, decision FROM access_events",
      );
      const hospital = walletOf("institution", 0).address.toLowerCase();
      const labAddress = walletOf("institution", 1).address.toLowerCase();
      const byTag = new Map<string, number>();
      for (const e of events) if (e.actor === hospital && e.action === AccessAction.ConsentDecision) byTag.set(e.patient, (byTag.get(e.patient) ?? 0) + 1);
      const decisions = sent.filter((x) => x.kind === "decide");
      const wrong = decisions
        .map((s) => ({ tag: s.tag, status: s.status, events: byTag.get(s.tag!) ?? 0 }))
        .filter((d) => (d.status === 200 || d.status === 403 ? d.events !== 1 : d.events > 1));
      expect(wrong).toEqual([]);
      expect(decisions.filter(ok).length).toBeGreaterThan(50);
      const reads = (decision: AccessDecision) => events.filter((e) => e.actor === labAddress && e.action === AccessAction.RecordRead && e.decision === decision).length;
      const count = (kind: Kind, pred: (s: Sent) => boolean) => sent.filter((s) => s.kind === kind && pred(s)).length;
      // One permitted read of B before the load.
      const permits = reads(AccessDecision.Permit) - 1;
      expect(permits).toBeGreaterThanOrEqual(count("permit", (s) => s.status === 200));
      expect(permits).toBeLessThanOrEqual(count("permit", (s) => s.status === 200 || s.status === 0));
      const refusals = reads(AccessDecision.NoConsent);
      expect(refusals).toBeGreaterThanOrEqual(count("refuse", (s) => s.status === 403));
      expect(refusals).toBeLessThanOrEqual(count("refuse", (s) => s.status === 403 || s.status === 0));

      // The regulator exports the trail from B, and the independent verifier passes on it.
      const dir = tempDir();
      const file = join(dir, "trail.ndjson");
      await pollUntil("the export to hold every event", async () => {
        const res = await api.B.request({ method: "GET", url: "/audit/export?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", headers: regulatorAuth });
        if (res.status !== 200) return false;
        writeFileSync(file, res.text);
        return readLines(file).filter((l) => l.kind === "event").length === recorded;
      });
      const run = await runVerifyCli(["--export", file, "--rpc", chainUrl, "--deployment", deploymentFile, "--report", join(dir, "report.json")]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect((await api.B.request({ method: "GET", url: "/health" })).status).toBe(200);

      const lost = sent.filter((s) => s.status === 0).length;
      console.log(
        `failover: ready in ${ready - started} ms; ${REQUESTS} requests (${lost} without an answer, ${sent.filter((s) => s.status === 503).length} answered 503); ` +
          `B led indexing and anchoring ${tookOverMs} ms after the kill; ${recorded} events in ${batches.length} batches; whole test ${Date.now() - started} ms`,
      );
    },
    READY_TIMEOUT_MS + 2 * SETTLE_TIMEOUT_MS,
  );
});

/** The API of one service process over HTTP, in the shape the test fixtures take. */
function client(base: string): TestService {
  const request: TestService["request"] = async ({ method, url, payload, headers }) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body, text };
  };
  return { request } as unknown as TestService;
}
