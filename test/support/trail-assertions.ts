import { Contract, type JsonRpcApiProvider } from "ethers";
import { Client } from "pg";
import { loadArtifact } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";

/**
 * Checks, from the chain alone, that batches 1..n cover sequence numbers 1..lastSeq with no gap or
 * overlap — the contract guarantees contiguity, so this confirms nothing is missing at the end.
 */
export async function anchoredRanges(provider: JsonRpcApiProvider, deployment: Deployment) {
  const ledger = new Contract(deployment.contracts.AccessLedger.address, loadArtifact("AccessLedger").abi, provider);
  const count = Number(await ledger.batchCount());
  const batches: Array<{ batchId: number; root: string; firstSeq: number; lastSeq: number }> = [];
  for (let id = 1; id <= count; id++) {
    const b = await ledger.getBatch(id);
    batches.push({ batchId: id, root: b.root, firstSeq: Number(b.firstSeq), lastSeq: Number(b.lastSeq) });
  }
  return { ledger, batches, nextSeq: Number(await ledger.nextSeq()) };
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000, stepMs = 100): Promise<boolean> {
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
