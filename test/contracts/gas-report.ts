import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * test/gas-report.json: gasUsed of the contracts' state-changing calls, rewritten by every `npm test`.
 * Each test file owns the keys starting with its contract name; jest runs files in parallel workers,
 * so the read-merge-write is done under a lock directory.
 */
export const GAS_REPORT_FILE = join(__dirname, "..", "gas-report.json");
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
