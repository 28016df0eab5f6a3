import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { DataSource } from "typeorm";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import { leafHash } from "../../service/audit/access-event";
import { AccessLogService } from "../../service/audit/access-log.service";
import { AnchorBatchRepository } from "../../service/audit/anchor-batch.repository";
import { TrailMonitor } from "../../service/audit/trail-monitor.service";
import { AnchorService } from "../../service/audit/anchor.service";
import type { AccessEventEntity } from "../../service/audit/audit.entities";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { AccessAction, AccessDecision } from "../../service/domain/access-codes";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { runTs, type RunningProcess } from "../support/process";
import { startTestService, writeTempDeployment, type TestService } from "../support/service";
import { waitUntil } from "../support/trail-assertions";
import { SETTLE_TIMEOUT_MS } from "../support/ready";
import { runVerifyCli, tempDir } from "../verify/helpers";

/**
 * The stored trail edited behind the service's back. The database refuses edits from the service's own
 * role; done by a role that bypasses the rules (here: the table owner with the triggers disabled, as a
 * superuser could), each edit is reported by /health within seconds and by the regulator's verifier with
 * the right sequence number and reason.
 */
describe("a tampered trail", () => {
  const EVENTS = 12;
  const ALARM_DEADLINE_MS = 10_000;
  let node: RunningProcess;
  let chainUrl: string;
  let provider: JsonRpcProvider;
  const dir = tempDir();
  const alarmTimesMs: number[] = [];

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    provider = createRpcProvider(chainUrl, 31337);
  });

  afterAll(() => {
    provider?.destroy();
    node?.child.kill("SIGKILL");
    if (alarmTimesMs.length) console.log(`trail tamper → /health alarm: ${alarmTimesMs.map((ms) => `${ms} ms`).join(", ")}`);
  });

  interface Scene {
    service: TestService;
    deployment: Awaited<ReturnType<typeof deployWithDemoRoles>>;
    db: DataSource;
    deploymentFile: string;
    events: AccessEventEntity[];
    regulator: Record<string, string>;
    /** Runs SQL the way a superuser could: past the append-only triggers. */
    bypass(sql: string, params?: unknown[]): Promise<void>;
    /** Waits for /health to report the trail failing; returns the failure and how long it took. */
    alarm(): Promise<{ failure: { seq: number; reason: string }; elapsedMs: number }>;
    /** Exports the trail and runs the verifier on it. */
    verify(): Promise<{ code: number | null; firstFailure: { seq: number | null; reason: string } | null }>;
  }

  /** A fresh deployment and service with EVENTS anchored events, all intact. */
  async function scene(): Promise<Scene> {
    const deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    const deploymentFile = writeTempDeployment(deployment);
    const service = await startTestService({
      deployment,
      env: { CHAIN_RPC_URL: chainUrl, BATCH_MAX_MS: "100", BATCH_MAX_EVENTS: "4", TRAIL_CHECK_MS: "200" },
    });
    const log = service.app.get(AccessLogService);
    const actors = [walletOf("institution", 0).address, walletOf("institution", 1).address];
    for (let i = 0; i < EVENTS; i++) {
      await log.record({ actor: actors[i % 2], action: AccessAction.ConsentDecision, decision: AccessDecision.Rejected, request: { method: "POST", path: `/t/${i}` } });
    }
    const batches = service.app.get(AnchorBatchRepository);
    expect(await waitUntil(async () => {
      const backlog = await batches.backlog();
      return backlog.unconfirmedBatches === 0 && backlog.unbatchedEvents === 0;
    }, SETTLE_TIMEOUT_MS)).toBe(true);
    const health = async () => (await service.request({ method: "GET", url: "/health" })).body;
    expect(await waitUntil(async () => (await health()).trail?.sweeps >= 1, SETTLE_TIMEOUT_MS)).toBe(true);
    expect((await health()).trail.ok).toBe(true);
    const db = service.app.get(DataSource);
    const events = (await db.query(`SELECT seq FROM access_events ORDER BY seq`)) as AccessEventEntity[];
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
    const client = consentClient(service, provider, deployment);
    const regulator = await client.signIn(walletOf("regulator", 0));
    return {
      service,
      deployment,
      db,
      deploymentFile,
      events,
      regulator,
      async bypass(sql, params = []) {
        const tables = ["access_events", "anchor_batches", "access_log_head"];
        for (const t of tables) await db.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
        try {
          await db.query(sql, params);
        } finally {
          for (const t of tables) await db.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
        }
      },
      async alarm() {
        const started = Date.now();
        let body: { status: string; trail: { failure?: { seq: number; reason: string } } } | undefined;
        const raised = await waitUntil(async () => {
          const res = await service.request({ method: "GET", url: "/health" });
          body = res.body;
          return res.status === 503 && !!body?.trail.failure;
        }, ALARM_DEADLINE_MS, 50);
        expect(raised).toBe(true);
        const elapsedMs = Date.now() - started;
        alarmTimesMs.push(elapsedMs);
        return { failure: body!.trail.failure!, elapsedMs };
      },
      async verify() {
        const res = await service.request({ method: "GET", url: "/audit/export?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", headers: regulator });
        expect(res.status).toBe(200);
        const file = join(dir, `trail-${deployment.contracts.AccessLedger.address}.ndjson`);
        writeFileSync(file, res.text);
        const reportFile = `${file}.report.json`;
        const run = await runVerifyCli(["--export", file, "--rpc", chainUrl, "--deployment", deploymentFile, "--report", reportFile]);
        return { code: run.code, firstFailure: JSON.parse(readFileSync(reportFile, "utf8")).firstFailure };
      },
    };
  }

  let current: Scene | undefined;
  afterEach(async () => {
    await current?.service.close();
    current = undefined;
  });

  it("refuses an edited column, then reports the edit by its seq", async () => {
    const s = (current = await scene());
    await expect(s.db.query(`UPDATE access_events SET decision = 1 WHERE seq = 5`)).rejects.toThrow(/append-only/);
    await s.bypass(`UPDATE access_events SET decision = 1 WHERE seq = 5`);
    const { failure, elapsedMs } = await s.alarm();
    expect(failure).toMatchObject({ seq: 5, reason: "leaf-mismatch" });
    expect(elapsedMs).toBeLessThan(ALARM_DEADLINE_MS);
    // Nothing the trail cannot vouch for is served.
    const page = await s.service.request({ method: "GET", url: "/audit/events?limit=100", headers: s.regulator });
    expect([page.status, page.body.type]).toEqual([503, "urn:consentry:problem:trail-integrity-failure"]);
    const [{ id }] = await s.db.query(`SELECT id FROM access_events WHERE seq = 5`);
    const proof = await s.service.request({ method: "GET", url: `/audit/events/${id}/proof`, headers: s.regulator });
    expect([proof.status, proof.body.type]).toEqual([503, "urn:consentry:problem:trail-integrity-failure"]);
    expect(await s.verify()).toMatchObject({ code: 1, firstFailure: { seq: 5, reason: "leaf-mismatch" } });
  });

  (process.env.TEST_DATABASE_URL ? it : it.skip)("is checked by one of several instances on the database, and every instance reports the alarm", async () => {
    const s = (current = await scene());
    const second = await startTestService({ deployment: s.deployment, database: s.service.database, env: { CHAIN_RPC_URL: chainUrl, TRAIL_CHECK_MS: "200" } });
    try {
      const health = async (service: TestService) => (await service.request({ method: "GET", url: "/health" })).body;
      // The first instance holds the monitor's lease; the second reports what it publishes instead of re-checking.
      expect(await waitUntil(async () => (await health(second)).trail?.checkedBy === "another-instance" && (await health(second)).trail.sweeps >= 1, SETTLE_TIMEOUT_MS)).toBe(true);
      expect((await health(s.service)).trail.checkedBy).toBe("this-instance");
      await s.bypass(`UPDATE access_events SET decision = 1 WHERE seq = 5`);
      expect((await s.alarm()).failure).toMatchObject({ seq: 5, reason: "leaf-mismatch" });
      const reported = await waitUntil(async () => {
        const res = await second.request({ method: "GET", url: "/health" });
        return res.status === 503 && res.body.trail.failure?.seq === 5;
      }, ALARM_DEADLINE_MS, 50);
      expect(reported).toBe(true);
      expect((await health(second)).trail.failure).toMatchObject({ seq: 5, reason: "leaf-mismatch" });
    } finally {
      await second.close();
    }
  });

  (process.env.TEST_DATABASE_URL ? it : it.skip)("keeps reporting a failure the previous monitor found when another instance takes the monitor over", async () => {
    const s = (current = await scene());
    // Deep enough that the new holder's first sweep step (TRAIL_SWEEP_EVENTS, at least 100) does not reach the edit:
    // what it reports just after taking over is what it carried over, not what it found again.
    const log = s.service.app.get(AccessLogService);
    for (let i = 0; i < 120; i++) {
      await log.record({ actor: walletOf("institution", 0).address, action: AccessAction.ConsentDecision, decision: AccessDecision.Rejected, request: { method: "POST", path: `/u/${i}` } });
    }
    const batches = s.service.app.get(AnchorBatchRepository);
    expect(await waitUntil(async () => {
      const backlog = await batches.backlog();
      return backlog.unconfirmedBatches === 0 && backlog.unbatchedEvents === 0;
    }, 60_000)).toBe(true);
    const edited = EVENTS + 115;
    // The second instance checks only when told to.
    const second = await startTestService({
      deployment: s.deployment,
      database: s.service.database,
      env: { CHAIN_RPC_URL: chainUrl, TRAIL_CHECK_MS: "600000", TRAIL_SWEEP_EVENTS: "100" },
    });
    try {
      const monitor = second.app.get(TrailMonitor);
      await s.bypass(`UPDATE access_events SET decision = 1 WHERE seq = ${edited}`);
      expect((await s.alarm()).failure).toMatchObject({ seq: edited, reason: "leaf-mismatch" });
      await monitor.check(); // a follower: takes over the first instance's report
      expect(monitor.report()).toMatchObject({ checkedBy: "another-instance", ok: false, failure: { seq: edited } });
      await s.service.app.get(TrailMonitor).onModuleDestroy(); // the first instance's monitor stops and lets its lease go
      await monitor.check(); // takes the lease; its own sweep has not reached the edit yet
      expect(monitor.report()).toMatchObject({ checkedBy: "this-instance", ok: false, failure: { seq: edited, reason: "leaf-mismatch" } });
    } finally {
      await second.close();
    }
  });

  it("refuses a deleted event, then names the missing seq", async () => {
    const s = (current = await scene());
    await expect(s.db.query(`DELETE FROM access_events WHERE seq = 6`)).rejects.toThrow(/append-only/);
    await s.bypass(`DELETE FROM access_events WHERE seq = 6`);
    expect((await s.alarm()).failure).toMatchObject({ seq: 6, reason: "event-missing" });
    expect(await s.verify()).toMatchObject({ code: 1, firstFailure: { seq: 6, reason: "event-missing" } });
  });

  it("swaps two events' columns, and is reported at the first of them", async () => {
    const s = (current = await scene());
    const swap = `UPDATE access_events a SET actor = b.actor FROM access_events b WHERE (a.seq, b.seq) IN ((3, 4), (4, 3))`;
    await expect(s.db.query(swap)).rejects.toThrow(/append-only/);
    await s.bypass(swap);
    expect((await s.alarm()).failure).toMatchObject({ seq: 3, reason: "leaf-mismatch" });
    expect(await s.verify()).toMatchObject({ code: 1, firstFailure: { seq: 3, reason: "leaf-mismatch" } });
  });

  it("rewrites a batch root, and is reported against the root on chain", async () => {
    const s = (current = await scene());
    const rewrite = `UPDATE anchor_batches SET root = '0x${"ab".repeat(32)}' WHERE batch_id = 2`;
    await expect(s.db.query(rewrite)).rejects.toThrow(/append-only/);
    await s.bypass(rewrite);
    const [{ first_seq }] = await s.db.query(`SELECT first_seq FROM anchor_batches WHERE batch_id = 2`);
    expect((await s.alarm()).failure).toMatchObject({ seq: Number(first_seq), reason: "chain-root-mismatch", batchId: 2 });
    expect(await s.verify()).toMatchObject({ code: 1, firstFailure: { reason: "root-mismatch" } });
  });

  it("notices a forged event appended behind the head, and never anchors it", async () => {
    const s = (current = await scene());
    const [last] = await s.db.query(`SELECT * FROM access_events ORDER BY seq DESC LIMIT 1`);
    // A forgery as good as it gets without the head: the right seq, format, link and leaf.
    const forged = {
      format: 2 as const,
      seq: Number(last.seq) + 1,
      id: "0b7e4d2a-5c1f-4e8a-9d3b-1f2e3d4c5b6a",
      timeMs: Date.now(),
      actor: walletOf("institution", 1).address.toLowerCase(),
      requester: walletOf("institution", 1).address.toLowerCase(),
      patient: walletOf("patient", 0).address.toLowerCase(),
      action: AccessAction.RecordRead,
      categories: 4,
      purposes: 1,
      decision: AccessDecision.Permit,
      consentId: "0x" + "00".repeat(32),
      requestHash: "0x" + "11".repeat(32),
      prevHash: last.leaf as string,
    };
    const leaf = "0x" + leafHash(forged).toString("hex");
    await s.db.query(
      `INSERT INTO access_events (seq, id, time_ms, format, actor, requester, patient, action, categories, purposes, decision, consent_id, request_hash, prev_hash, leaf)
       VALUES ($1, $2, $3, 2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [forged.seq, forged.id, forged.timeMs, forged.actor, forged.requester, forged.patient, forged.action, forged.categories, forged.purposes, forged.decision, forged.consentId, forged.requestHash, forged.prevHash, leaf],
    );
    expect((await s.alarm()).failure).toMatchObject({ seq: forged.seq, reason: "head-mismatch" });
    // Anchoring passes run here rather than waited for — at least three, and until the forged event is old
    // enough to close a batch (BATCH_MAX_MS is 100): none may anchor it.
    const forgedAt = Date.now();
    for (let pass = 0; pass < 3 || Date.now() - forgedAt < 300; pass++) {
      await s.service.app.get(AnchorService).tick();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await s.service.app.get(AnchorBatchRepository).backlog()).toMatchObject({ unconfirmedBatches: 0, unbatchedEvents: 0 });
    const [{ unanchored }] = await s.db.query(`SELECT count(*)::int AS unanchored FROM access_events WHERE batch_id IS NULL`);
    expect(unanchored).toBe(1);
    // What was anchored is intact: the export (anchored events only) still verifies.
    expect(await s.verify()).toMatchObject({ code: 0 });
  });
});
