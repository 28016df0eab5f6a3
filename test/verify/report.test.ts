import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, UsageError } from "../../scripts/verify/cli-args";
import { BreakGlassLog, buildReport, summary, writeReport } from "../../scripts/verify/report";
import type { VerifyResult } from "../../scripts/verify/trail-verifier";
import { tempDir } from "./helpers";

const result = (over: Partial<VerifyResult> = {}): VerifyResult => ({
  ok: true,
  checked: { lines: 5, batches: 3, prunedBatches: 1, events: 2, leaves: 2, proofs: 2, hashLinks: 1, permits: 1, denies: 0, breakGlass: 0, chainCalls: 7 },
  firstFailure: null,
  pruned: [{ fromBatch: 1, toBatch: 1, firstSeq: 1, lastSeq: 10 }],
  export: { from: "a", to: "b", firstBatch: 1, lastBatch: 3, firstSeq: 1, lastSeq: 12 },
  chain: { chainId: 31337, accessLedger: "0x1", consentRegistry: "0x2", batchCount: 3 },
  ...over,
});

describe("report", () => {
  let dir: string;
  beforeAll(() => (dir = tempDir()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("streams a break-glass list longer than it keeps in memory, in order, as valid JSON", async () => {
    const log = new BreakGlassLog();
    for (let seq = 1; seq <= 2_500; seq++) log.add({ seq, id: `id-${seq}`, time: seq, actor: "0xa", patient: "0xb", batchId: 1 });
    const file = join(dir, "many.json");
    await writeReport(file, buildReport("x.ndjson", result(), 1000), log);
    log.dispose();
    const r = JSON.parse(readFileSync(file, "utf8"));
    expect(r.ok).toBe(true);
    expect(r.breakGlass).toHaveLength(2_500);
    expect(r.breakGlass.map((b: { seq: number }) => b.seq)).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
  });

  it("writes an empty list and explains a failure", async () => {
    const file = join(dir, "failed.json");
    const failed = result({ ok: false, firstFailure: { seq: 7, id: "e7", batchId: 2, line: 9, reason: "hash-link-broken", detail: "prevHash …" } });
    const report = buildReport("x.ndjson", failed, 500);
    await writeReport(file, report, new BreakGlassLog());
    const r = JSON.parse(readFileSync(file, "utf8"));
    expect(r).toMatchObject({ ok: false, breakGlass: [], firstFailure: { seq: 7, reason: "hash-link-broken", explanation: expect.stringContaining("prevHash") } });
    const text = summary(report, file);
    expect(text).toContain("FAILED");
    expect(text).toContain("hash-link-broken at event seq 7 (id e7), batch 2, line 9");
    expect(text).toContain("pruned       1 batches, checked against the chain's header only (#1)");
    // Checks run ahead of the failure: the summary says the counts are not all verified.
    expect(text).toContain("verified     only the events before seq 7; the counts below include lines read after it");
  });
});

describe("command line", () => {
  it("reads the four options, with = or a separate value, and defaults the report", () => {
    expect(parseArgs(["--export", "t.ndjson", "--rpc=http://x", "--deployment", "d.json"], {})).toEqual({
      exportFile: "t.ndjson",
      rpcUrl: "http://x",
      deploymentFile: "d.json",
      reportFile: "verify-report.json",
    });
    expect(parseArgs(["--export", "t", "--deployment", "d"], { CHAIN_RPC_URL: "http://env" })).toMatchObject({ rpcUrl: "http://env" });
    expect(parseArgs(["--help"], {})).toBe("help");
  });

  it.each([[["--export", "t", "--deployment", "d"]], [["--export", "t", "--rpc", "u"]], [["--export"]], [["--bogus", "1"]]])("refuses %j", (argv) => {
    expect(() => parseArgs(argv, {})).toThrow(UsageError);
  });
});
