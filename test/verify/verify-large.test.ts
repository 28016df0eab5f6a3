import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTrailWorld, writeTrail, type TrailSummary, type TrailWorld } from "../support/trail-fixture";
import { runVerifyCli, tempDir } from "./helpers";

const EVENTS = 100_000;

/**
 * A trail of 100,000 format 2 events (about 135 MB of NDJSON) verified by the CLI in its own process, measuring
 * events per second and peak memory. Generation (hashing, 100+ anchor transactions) takes about as long
 * as verification; the chain start-up and ts-node start-up a few seconds more.
 */
describe("verify: a large trail", () => {
  let dir: string;
  let world: TrailWorld;
  let trail: TrailSummary;
  let generationMs: number;

  beforeAll(async () => {
    dir = tempDir();
    world = await startTrailWorld(dir, 8);
    const started = Date.now();
    trail = await writeTrail(world, join(dir, "large.ndjson"), { events: EVENTS, batchSize: 1000, breakGlassRate: 0.0005 });
    generationMs = Date.now() - started;
  }, 300_000);

  afterAll(async () => {
    await world?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const args = (report: string) => ["--export", trail.file, "--rpc", world.url, "--deployment", world.deploymentFile, "--report", report];

  it(`verifies ${EVENTS.toLocaleString("en-US")} events, streaming, and reports its speed and peak memory`, async () => {
    const report = join(dir, "report.json");
    const run = await runVerifyCli(args(report), { measure: existsSync("/usr/bin/time") });
    expect(run.stdout).toContain("PASSED");
    expect(run.code).toBe(0);
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(r.ok).toBe(true);
    expect(r.checked).toMatchObject({ events: EVENTS, proofs: EVENTS, batches: trail.batches.length, permits: trail.permits, denies: trail.denies, breakGlass: trail.breakGlass });
    expect(r.breakGlass).toHaveLength(trail.breakGlass);

    // A second run with the heap capped far below the file's size: only a streaming verifier passes.
    const capped = await runVerifyCli(args(join(dir, "capped.json")), { measure: existsSync("/usr/bin/time"), nodeFlags: ["--max-old-space-size=64"] });
    expect(capped.code).toBe(0);
    const c = JSON.parse(readFileSync(join(dir, "capped.json"), "utf8"));

    const mb = (kb: number | undefined, fallback: number) => (kb ? Math.round(kb / 1024) : fallback);
    console.log(
      [
        `large trail: ${EVENTS} events in ${trail.batches.length} batches, ${Math.round(statSync(trail.file).size / 1e6)} MB of NDJSON`,
        `  generated and anchored in ${(generationMs / 1000).toFixed(1)} s`,
        `  verified at ${r.performance.eventsPerSecond} events/s (${(r.performance.elapsedMs / 1000).toFixed(1)} s; ${r.checked.permits} permits, ${r.checked.denies} denies, ${r.checked.chainCalls} chain calls), peak RSS ${mb(run.maxRssKB, r.performance.maxRssMB)} MB`,
        `  with --max-old-space-size=64: ${c.performance.eventsPerSecond} events/s, peak RSS ${mb(capped.maxRssKB, c.performance.maxRssMB)} MB`,
      ].join("\n"),
    );
    expect(r.performance.eventsPerSecond).toBeGreaterThan(2_000);
  }, 300_000);
});
