import { Interface } from "ethers";

/**
 * Reads the chain directly over JSON-RPC from the browser — not through the service — so what the console
 * calls "on chain" is what the chain itself answered. Only view calls; nothing is ever sent.
 */

const LEDGER = new Interface([
  "function getBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq) view returns (tuple(bytes32 root, uint8 status, uint256 supersededBy))",
  "function batchCount() view returns (uint256)",
]);

const REGISTRY = new Interface([
  "function nonces(address account) view returns (uint256)",
  "function getConsent(bytes32 consentId) view returns (tuple(tuple(address patient, address grantee, uint256 categories, uint256 purposes, uint8 effect, uint64 validFrom, uint64 validUntil) terms, uint64 grantedAt, uint64 revokedAt))",
]);

/** AccessLedger.BatchStatus. */
export const BATCH_STATUS = ["anchored", "void", "superseded"] as const;

export interface OnChainBatch {
  root: string;
  status: (typeof BATCH_STATUS)[number];
  supersededBy: number;
}

export interface OnChainConsent {
  patient: string;
  grantee: string;
  categories: bigint;
  purposes: bigint;
  effect: number;
  validFrom: number;
  validUntil: number;
  grantedAt: number;
  revokedAt: number;
}

/** The chain could not be asked (not reachable from this browser, wrong chain): not the same as "not on chain". */
export class ChainUnreachable extends Error {}

/** The contract refused the call (a revert): e.g. no batch under that id and range. */
class Reverted extends Error {}

const TIMEOUT_MS = 5_000;
const RETRY_UNREACHABLE_MS = 30_000;

export class ChainReader {
  private checked: { at: number; ok: boolean; reason?: string } | undefined;
  private id = 0;

  constructor(
    readonly url: string | null,
    private readonly chainId: number,
    private readonly ledger: string,
    private readonly registry: string,
  ) {}

  /** Whether the chain answers from this browser with the deployment's chain id (re-checked after a failure). */
  async reachable(): Promise<{ ok: boolean; reason?: string }> {
    if (!this.url) return { ok: false, reason: "the service publishes no chain URL for browsers (PUBLIC_CHAIN_RPC_URL)" };
    if (this.checked && (this.checked.ok || Date.now() - this.checked.at < RETRY_UNREACHABLE_MS)) return this.checked;
    try {
      const id = Number(await this.rpc("eth_chainId", []));
      this.checked = id === this.chainId ? { at: Date.now(), ok: true } : { at: Date.now(), ok: false, reason: `the chain at ${this.url} has chain id ${id}, not ${this.chainId}` };
    } catch (error) {
      this.checked = { at: Date.now(), ok: false, reason: `${this.url} cannot be reached from this browser (${(error as Error).message})` };
    }
    return this.checked;
  }

  /** The batch anchored under exactly this id and range, or null when the ledger has none. */
  async getBatch(batchId: number, firstSeq: number, lastSeq: number): Promise<OnChainBatch | null> {
    try {
      const [b] = await this.call(this.ledger, LEDGER, "getBatch", [batchId, firstSeq, lastSeq]);
      return { root: (b.root as string).toLowerCase(), status: BATCH_STATUS[Number(b.status)] ?? "void", supersededBy: Number(b.supersededBy) };
    } catch (error) {
      if (error instanceof Reverted) return null;
      throw error;
    }
  }

  async batchCount(): Promise<number> {
    const [count] = await this.call(this.ledger, LEDGER, "batchCount", []);
    return Number(count);
  }

  async nonce(account: string): Promise<bigint> {
    const [nonce] = await this.call(this.registry, REGISTRY, "nonces", [account]);
    return BigInt(nonce);
  }

  async getConsent(consentId: string): Promise<OnChainConsent | null> {
    try {
      const [c] = await this.call(this.registry, REGISTRY, "getConsent", [consentId]);
      return {
        patient: c.terms.patient,
        grantee: c.terms.grantee,
        categories: BigInt(c.terms.categories),
        purposes: BigInt(c.terms.purposes),
        effect: Number(c.terms.effect),
        validFrom: Number(c.terms.validFrom),
        validUntil: Number(c.terms.validUntil),
        grantedAt: Number(c.grantedAt),
        revokedAt: Number(c.revokedAt),
      };
    } catch (error) {
      if (error instanceof Reverted) return null;
      throw error;
    }
  }

  private async call(to: string, iface: Interface, fn: string, args: unknown[]) {
    const reach = await this.reachable();
    if (!reach.ok) throw new ChainUnreachable(reach.reason);
    const data = iface.encodeFunctionData(fn, args);
    const result = (await this.rpc("eth_call", [{ to, data }, "latest"])) as string;
    if (result === "0x") throw new Reverted(`${fn}: no contract answered`);
    return iface.decodeFunctionResult(fn, result);
  }

  private async rpc(method: string, params: unknown[]): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(this.url!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++this.id, method, params }),
        signal: controller.signal,
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch (error) {
      this.checked = undefined;
      throw new ChainUnreachable((error as Error).name === "AbortError" ? "timed out" : "network error");
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw new ChainUnreachable(`HTTP ${response.status}`);
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) {
      // Execution reverted (code 3, or -32000/-32603 with revert data on some nodes): the contract said no.
      if (body.error.code === 3 || /revert/i.test(body.error.message)) throw new Reverted(body.error.message);
      throw new ChainUnreachable(body.error.message);
    }
    return body.result;
  }
}
