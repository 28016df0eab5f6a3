import { Contract, type JsonRpcApiProvider } from "ethers";
import { Client } from "pg";
import { loadArtifact } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";
import { SETTLE_TIMEOUT_MS } from "./ready";

/**
 * Checks, from the chain alone, that batches 1..n cover sequence numbers 1..lastSeq with no gap or
 * overlap — the contract guarantees contiguity, so this confirms nothing is missing at the end.
 */
export async function anchoredRanges(provider: JsonRpcApiProvider, deployment: Deployment) {
  const ledger = new Contract(deployment.contracts.AccessLedger.address, loadArtifact("AccessLedger").abi, provider);
  // AccessLedger v2 keeps each root under its range, which only the BatchAnchored logs name.
  const logs = await ledger.queryFilter(ledger.filters.BatchAnchored(), deployment.deploymentBlock, "latest");
  const batches = logs
    .map((log) => ("args" in log ? log.args : undefined))
    .filter((a): a is NonNullable<typeof a> => a !== undefined)
    .map((a) => ({ batchId: Number(a.batchId), root: String(a.root), firstSeq: Number(a.firstSeq), lastSeq: Number(a.lastSeq) }))
    .sort((x, y) => x.batchId - y.batchId);
  return { ledger, batches, nextSeq: Number(await ledger.nextSeq()) };
}

/** AccessLedger.verifyEvent for a proof as the API serves it: the leaf computed on chain from the event's fields. */
export function verifyOnChain(
  ledger: Contract,
  proof: { leafValues: unknown[] | null; proof: string[]; batch: { batchId: number; firstSeq: number; lastSeq: number } },
): Promise<boolean> {
  return ledger.verifyEvent(proof.batch.batchId, proof.batch.firstSeq, proof.batch.lastSeq, proof.leafValues, proof.proof) as Promise<boolean>;
}

/** Polls `check` until it holds or `timeoutMs` passes (by default SETTLE_TIMEOUT_MS, sized for a loaded CI machine). */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs = SETTLE_TIMEOUT_MS, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}

/** Direct SQL against a PostgreSQL test database (not the service's code). */
export async function pgQuery<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
