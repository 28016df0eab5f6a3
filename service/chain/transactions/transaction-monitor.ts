import type { TransactionReceipt } from "ethers";
import type { ChainTransactionEntity } from "./chain-transaction.entity";
import { ChainCallError, onChain, safeErrorMessage } from "./chain-errors";
import { TX_REPLACED_AFTER_CHECKS } from "./transaction-policy";
import type { SignerContext } from "./signer-context";

/**
 * Follows one signer's unconfirmed transactions on chain: receipts ('mined', or 'failed' when the
 * receipt says reverted), confirmations, reorgs, replacements (our nonce used by another transaction)
 * and transactions the node forgot (re-sent byte for byte). Runs in the signer's writer only; it also
 * serves as the resume step after a restart, since everything it needs is in the table and on chain.
 */
export class TransactionMonitor {
  /** Sent rows whose nonce was seen used without their receipt, and how many passes in a row. */
  private readonly suspects = new Map<number, number>();

  constructor(private readonly ctx: SignerContext) {}

  async check(): Promise<void> {
    const { ctx } = this;
    const sent = await ctx.repository.list(ctx.address, ["sent"]);
    const mined = await ctx.repository.list(ctx.address, ["mined"]);
    if (sent.length === 0) this.suspects.clear();
    if (sent.length === 0 && mined.length === 0) return;
    // The nonce is read before the receipts: if it shows our nonce used and our receipt is still
    // missing afterwards, our transaction was not the one mined with that nonce.
    const latestNonce = await onChain(ctx.provider.getTransactionCount(ctx.address, "latest"));
    const head = await onChain(ctx.provider.getBlockNumber());
    for (const row of sent) {
      ctx.assertWriter();
      await this.checkSent(row, latestNonce, head);
    }
    for (const row of mined) {
      ctx.assertWriter();
      await this.checkMined(row, head);
    }
  }

  private async checkSent(row: ChainTransactionEntity, latestNonce: number, head: number): Promise<void> {
    const { ctx } = this;
    const receipt = await onChain(ctx.provider.getTransactionReceipt(row.hash!));
    if (receipt) {
      this.suspects.delete(row.id);
      await this.recordReceipt(row, receipt, head);
      return;
    }
    if (latestNonce > row.nonce!) {
      const seen = (this.suspects.get(row.id) ?? 0) + 1;
      this.suspects.set(row.id, seen);
      if (seen >= TX_REPLACED_AFTER_CHECKS) await this.resubmit(row);
      return;
    }
    this.suspects.delete(row.id);
    if (Date.now() - (row.broadcastAt?.getTime() ?? 0) < ctx.timing.rebroadcastMs) return;
    if (await onChain(ctx.provider.getTransaction(row.hash!))) return; // Still waiting in the pool.
    await this.rebroadcast(row);
  }

  private async recordReceipt(row: ChainTransactionEntity, receipt: TransactionReceipt, head: number): Promise<void> {
    const block = { blockNumber: receipt.blockNumber, blockHash: receipt.blockHash, gasUsed: Number(receipt.gasUsed) };
    if (receipt.status !== 1) {
      await this.ctx.repository.transition(row.id, ["sent"], {
        ...block,
        state: "failed",
        failure: "reverted",
        revertData: null,
        lastError: `Reverted on chain in block ${receipt.blockNumber}`,
      });
      this.log("warn", row, "failed", { blockNumber: receipt.blockNumber });
      return;
    }
    const mined = await this.ctx.repository.transition(row.id, ["sent"], { ...block, state: "mined" });
    this.log("log", row, "mined", { blockNumber: receipt.blockNumber });
    if (mined) await this.confirmIfDeep(mined, head);
  }

  private async checkMined(row: ChainTransactionEntity, head: number): Promise<void> {
    // A reorg can only undo blocks that are not yet final; re-read the receipt until then.
    const receipt = await onChain(this.ctx.provider.getTransactionReceipt(row.hash!));
    if (!receipt) {
      await this.ctx.repository.transition(row.id, ["mined"], { state: "sent", blockNumber: null, blockHash: null, gasUsed: null });
      this.log("warn", row, "unmined by a reorg", { blockNumber: row.blockNumber });
      return;
    }
    let current = row;
    if (receipt.blockHash !== row.blockHash) {
      current =
        (await this.ctx.repository.transition(row.id, ["mined"], {
          blockNumber: receipt.blockNumber,
          blockHash: receipt.blockHash,
          gasUsed: Number(receipt.gasUsed),
        })) ?? row;
    }
    await this.confirmIfDeep(current, head);
  }

  /** Confirmed once CHAIN_CONFIRMATIONS blocks follow the including one (0: as soon as mined). */
  private async confirmIfDeep(row: ChainTransactionEntity, head: number): Promise<void> {
    if (head - row.blockNumber! < this.ctx.confirmations) return;
    if (await this.ctx.repository.transition(row.id, ["mined"], { state: "confirmed" })) {
      this.log("log", row, "confirmed", { blockNumber: row.blockNumber });
    }
  }

  /** Another transaction took our nonce: the request has not happened, so it is queued again as a new row. */
  private async resubmit(row: ChainTransactionEntity): Promise<void> {
    this.suspects.delete(row.id);
    const next = await this.ctx.repository.replace(row, `Nonce ${row.nonce} was used by another transaction`);
    if (next) this.log("warn", row, "replaced", { replacedBy: next.id });
  }

  /** The node forgot it and its nonce is unused: send the same signed bytes again (same hash, no double send). */
  private async rebroadcast(row: ChainTransactionEntity): Promise<void> {
    const attempt = row.attempts + 1;
    let error: string | undefined;
    try {
      await onChain(this.ctx.provider.broadcastTransaction(row.rawTx!));
    } catch (failure) {
      if (!(failure instanceof ChainCallError) || failure.failure.kind !== "already-known") error = safeErrorMessage(failure);
    }
    await this.ctx.repository.transition(row.id, ["sent"], { attempts: attempt, broadcastAt: new Date(), lastError: error ?? null });
    this.log(error ? "warn" : "log", row, "rebroadcast", { attempt, ...(error ? { error } : {}) });
  }

  private log(level: "log" | "warn", row: ChainTransactionEntity, event: string, extra: Record<string, unknown>): void {
    this.ctx.logger[level]({
      message: `Chain transaction ${event}`,
      id: row.id,
      kind: row.kind,
      signer: this.ctx.address,
      nonce: row.nonce,
      hash: row.hash,
      ...extra,
    });
  }
}
