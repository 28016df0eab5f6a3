import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { REASONS, type FirstFailure } from "./failures";
import type { BreakGlassEntry, BreakGlassSink, Checked, PrunedRange, VerifyResult } from "./trail-verifier";

/** What `--report` receives. `breakGlass` is appended when written (see writeReport). */
export interface VerifyReport {
  ok: boolean;
  /** Set when verification could not run to a verdict (unreadable file, unreachable RPC): exit code 2. */
  error?: string;
  exportFile: string;
  checked: Checked | null;
  firstFailure: (FirstFailure & { explanation: string }) | null;
  pruned: PrunedRange[];
  export: VerifyResult["export"] | null;
  chain: VerifyResult["chain"] | null;
  performance: { elapsedMs: number; eventsPerSecond: number; maxRssMB: number };
}

/** Entries kept in memory before spilling to a temporary file: break-glass is rare, but trails are unbounded. */
const IN_MEMORY_ENTRIES = 1_000;

/** Collects break-glass entries in constant memory: the first thousand in memory, the rest in a temp file. */
export class BreakGlassLog implements BreakGlassSink {
  count = 0;
  private readonly memory: string[] = [];
  /** Entries from this seq on are not listed (see discardFrom). */
  private cutoff = Infinity;
  private spill: { dir: string; file: string; stream: WriteStream } | null = null;
  private spillError: Error | null = null;

  add(entry: BreakGlassEntry): void {
    this.count++;
    const json = JSON.stringify(entry);
    if (!this.spill && this.memory.length < IN_MEMORY_ENTRIES) {
      this.memory.push(json);
      return;
    }
    if (!this.spill) {
      const dir = mkdtempSync(join(tmpdir(), "consentry-verify-"));
      const file = join(dir, "break-glass.ndjson");
      this.spill = { dir, file, stream: createWriteStream(file) };
      // Kept, not thrown: the error surfaces when the report is written (a disk-full spill must not pass silently).
      this.spill.stream.on("error", (error) => (this.spillError ??= error));
    }
    // Buffered by the stream; the verifier never waits on it, and a few MB at most ever queue up.
    this.spill.stream.write(json + "\n");
  }

  discardFrom(seq: number): void {
    this.cutoff = Math.min(this.cutoff, seq);
  }

  /** The entries as JSON texts, in trail order. */
  async *entries(): AsyncGenerator<string> {
    for await (const entry of this.all()) {
      if (this.cutoff === Infinity || (JSON.parse(entry) as BreakGlassEntry).seq < this.cutoff) yield entry;
    }
  }

  private async *all(): AsyncGenerator<string> {
    yield* this.memory;
    if (!this.spill) return;
    if (!this.spillError) {
      this.spill.stream.end();
      await once(this.spill.stream, "finish");
    }
    if (this.spillError) throw new Error(`cannot keep the break-glass list: ${this.spillError.message}`);
    const lines = createInterface({ input: createReadStream(this.spill.file), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield line;
  }

  dispose(): void {
    if (this.spill) {
      this.spill.stream.destroy();
      rmSync(this.spill.dir, { recursive: true, force: true });
      this.spill = null;
    }
  }
}

export function buildReport(exportFile: string, result: VerifyResult | null, elapsedMs: number, error?: string): VerifyReport {
  const events = result?.checked.events ?? 0;
  return {
    ok: result?.ok === true && !error,
    ...(error ? { error } : {}),
    exportFile,
    checked: result?.checked ?? null,
    firstFailure: result?.firstFailure ? { ...result.firstFailure, explanation: REASONS[result.firstFailure.reason] } : null,
    pruned: result?.pruned ?? [],
    export: result?.export ?? null,
    chain: result?.chain ?? null,
    performance: {
      elapsedMs: Math.round(elapsedMs),
      eventsPerSecond: elapsedMs > 0 ? Math.round(events / (elapsedMs / 1000)) : 0,
      // resourceUsage().maxRSS is in kilobytes: the peak for the whole process, including start-up.
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    },
  };
}

/** Writes the report as pretty JSON, streaming the break-glass list so it is never held whole. */
export async function writeReport(file: string, report: VerifyReport, breakGlass: BreakGlassLog): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  const body = JSON.stringify(report, null, 2);
  await write(body.slice(0, body.lastIndexOf("\n}")));
  await write(',\n  "breakGlass": [');
  let first = true;
  for await (const entry of breakGlass.entries()) {
    await write((first ? "\n    " : ",\n    ") + entry);
    first = false;
  }
  await write(first ? "]\n}\n" : "\n  ]\n}\n");
  out.end();
  await once(out, "finish");
}

/** The few lines a person reads on stdout. */
export function summary(report: VerifyReport, reportFile: string): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const lines: string[] = [];
  if (report.error) {
    lines.push(`Consentry trail verification: NOT COMPLETED — ${report.error}`);
  } else {
    lines.push(`Consentry trail verification: ${report.ok ? "PASSED" : "FAILED"}`);
  }
  const c = report.checked;
  const failedAt = report.firstFailure?.seq ?? null;
  if (c && failedAt !== null) {
    // Checks run ahead of the failure that ended them: the counts below include lines read past it.
    lines.push(`  verified     only the events before seq ${n(failedAt)}; the counts below include lines read after it`);
  }
  if (c) {
    const range = report.export?.firstBatch != null ? ` (#${report.export.firstBatch}–#${report.export.lastBatch}, seq ${report.export.firstSeq}–${report.export.lastSeq})` : "";
    lines.push(`  batches      ${n(c.batches)} checked against the chain${range}`);
    const runs = report.pruned.map((p) => (p.fromBatch === p.toBatch ? `#${p.fromBatch}` : `#${p.fromBatch}–#${p.toBatch}`)).join(", ");
    lines.push(`  pruned       ${n(c.prunedBatches)} batches${c.prunedBatches > 0 ? `, checked against the chain's header only (${runs})` : ""}`);
    lines.push(`  events       ${n(c.events)} (leaf, sequence, hash link, proof to the on-chain root)`);
    lines.push(`  permits      ${n(c.permits)} checked against on-chain consents and decide(), for the requester`);
    lines.push(`  denies       ${n(c.denies)} checked against decide()`);
    const listed = failedAt === null ? " (listed in the report)" : ` (those before seq ${n(failedAt)} listed in the report)`;
    lines.push(`  break-glass  ${n(c.breakGlass)} flagged${c.breakGlass > 0 ? listed : ""}`);
  }
  const p = report.performance;
  lines.push(`  speed        ${n(p.eventsPerSecond)} events/s, ${(p.elapsedMs / 1000).toFixed(1)} s, peak RSS ${p.maxRssMB} MB`);
  const f = report.firstFailure;
  if (f) {
    const at = f.seq !== null ? `event seq ${f.seq}${f.id ? ` (id ${f.id})` : ""}` : "the export";
    lines.push(`  FIRST FAILURE ${f.reason} at ${at}${f.batchId !== null ? `, batch ${f.batchId}` : ""}${f.line !== null ? `, line ${f.line}` : ""}`);
    lines.push(`               ${f.detail}`);
  }
  lines.push(`  report       ${reportFile}`);
  return lines.join("\n");
}
