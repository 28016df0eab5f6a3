import type { Provider } from "ethers";
import { onChain } from "./chain-errors";
import type { ChainTransactionRepository } from "./chain-transaction.repository";

/**
 * The one nonce counter of a signer's writer (viem's nonceManager habit): read from the chain once,
 * then advanced locally, so concurrent requests get consecutive nonces without asking the node each
 * time. Forgotten (reset) whenever it may be wrong: a nonce conflict, a lost lease, an unexpected error.
 */
export class NonceAllocator {
  private next: number | undefined;

  constructor(
    private readonly signer: string,
    private readonly provider: Provider,
    private readonly repository: ChainTransactionRepository,
  ) {}

  /** The nonce the next fresh transaction gets. */
  async peek(): Promise<number> {
    this.next ??= await this.load();
    return this.next;
  }

  /** `nonce` is now taken by a persisted, signed transaction. */
  commit(nonce: number): void {
    this.next = nonce + 1;
  }

  /** The transaction signed with `nonce` was refused by the node, so `nonce` is free again. */
  rewind(nonce: number): void {
    if (this.next !== undefined && this.next > nonce) this.next = nonce;
  }

  reset(): void {
    this.next = undefined;
  }

  /**
   * The node's pending count, but never below our own sent rows: after a restart the node may have
   * forgotten them, and they will be re-sent with their recorded nonces, so a new one must not collide.
   */
  private async load(): Promise<number> {
    const [pending, highestSent] = await Promise.all([
      onChain(this.provider.getTransactionCount(this.signer, "pending")),
      this.repository.maxNonce(this.signer, ["sent"]),
    ]);
    return Math.max(pending, highestSent === null ? 0 : highestSent + 1);
  }
}
