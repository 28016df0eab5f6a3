import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * test/gas-report.json: gasUsed of the contracts' state-changing calls, tracked in git. `npm test` compares
 * the figures it measures with the file and leaves it alone (the working tree stays clean); a change of
 * gas is made on purpose with `UPDATE_GAS_REPORT=1 npm test -- test/contracts`, which rewrites the file
 * for review in the diff. Each test file owns the keys starting with its contract name; jest runs files
 * in parallel workers, so the read-merge-write is done under a lock directory.
 */
export const GAS_REPORT_FILE = join(__dirname, "..", "gas-report.json");
/** Whether this run rewrites the report instead of comparing with it. */
export const UPDATE_GAS_REPORT = process.env.UPDATE_GAS_REPORT === "1";
/**
 * Figures may differ from the file by this fraction: calldata costs 4 gas per zero byte and 16 per other
 * byte, so a hash or signature that happens to hold another number of zero bytes moves a figure slightly.
 */
export const GAS_TOLERANCE = 0.005;

/**
 * How the measured figures differ from the committed report beyond GAS_TOLERANCE: a figure that moved,
 * one measured but not in the file, one in the file no longer measured. Empty when they agree.
 */
export function gasReportDifferences(contractName: string, figures: Record<string, bigint | number | undefined>): string[] {
  const report = existsSync(GAS_REPORT_FILE) ? (JSON.parse(readFileSync(GAS_REPORT_FILE, "utf8")) as Record<string, number>) : {};
  const differences: string[] = [];
  for (const [key, measured] of Object.entries(figures)) {
    const name = `${contractName}.${key}`;
    const committed = report[name];
    if (measured === undefined) differences.push(`${name}: not measured (a test failed or was skipped)`);
    else if (committed === undefined) differences.push(`${name}: ${Number(measured)} measured, not in test/gas-report.json`);
    else if (Math.abs(Number(measured) - committed) > committed * GAS_TOLERANCE) differences.push(`${name}: ${Number(measured)} measured, ${committed} in test/gas-report.json`);
  }
  for (const name of Object.keys(report)) {
    if (name.startsWith(`${contractName}.`) && !(name.slice(contractName.length + 1) in figures)) differences.push(`${name}: in test/gas-report.json, no longer measured`);
  }
  return differences;
}
const LOCK_DIR = `${GAS_REPORT_FILE}.lock`;
const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 5_000;
const LOCK_POLL_MS = 20;

/** Replaces every `${contractName}.*` figure in the report with `figures` (keys without the prefix). */
export async function writeGasFigures(contractName: string, figures: Record<string, bigint | number>): Promise<void> {
  await withLock(() => {
    const report: Record<string, number> = existsSync(GAS_REPORT_FILE)
      ? (JSON.parse(readFileSync(GAS_REPORT_FILE, "utf8")) as Record<string, number>)
      : {};
    for (const key of Object.keys(report)) if (key.startsWith(`${contractName}.`)) delete report[key];
    for (const [key, gas] of Object.entries(figures)) report[`${contractName}.${key}`] = Number(gas);
    const sorted = Object.fromEntries(Object.entries(report).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeFileSync(GAS_REPORT_FILE, `${JSON.stringify(sorted, null, 2)}\n`);
  });
}

async function withLock(action: () => void): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() - lockCreatedAt() > LOCK_STALE_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() - start > LOCK_WAIT_MS) throw new Error(`Timed out waiting for ${LOCK_DIR}`);
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
  try {
    action();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

function lockCreatedAt(): number {
  try {
    return statSync(LOCK_DIR).mtimeMs;
  } catch {
    return Date.now();
  }
}
