import { keccak256, type TransactionRequest } from "ethers";
import type { ChainTransactionEntity, ChainTransactionFailure } from "./chain-transaction.entity";
import { ChainCallError, onChain, revertedError, type ChainFailure } from "./chain-errors";
import { backoffMs, TX_GAS_HEADROOM_PERCENT } from "./transaction-policy";
import type { SignerContext } from "./signer-context";

interface SignedTransaction {
  nonce: number;
  hash: string;
  raw: string;
  gasLimit: bigint;
}

type Phase = "estimate" | "sign" | "broadcast";
type Outcome = "sent" | "retry" | "requeued" | "failed" | "left-to-monitor";

/**
 * Takes one queued ('created') row to 'sent' — or to 'failed' when it reverts, is refused, or the chain
 * stays unreachable. Runs only in the signer's writer, one row at a time, so nonces are assigned in order.
 *
 * The signed transaction is persisted before it is broadcast; once a broadcast may have reached the
 * node (the call failed in transit), this function never signs anything else for the row: the monitor
 * decides from the chain whether it was mined, replaced or forgotten.
 */
export async function sendQueued(ctx: SignerContext, queued: ChainTransactionEntity): Promise<void> {
  ctx.broadcasting.add(queued.id);
  try {
    await send(ctx, queued);
  } finally {
    ctx.broadcastSettled(queued.id);
  }
}

async function send(ctx: SignerContext, queued: ChainTransactionEntity): Promise<void> {
  let row = queued;
  let signed: SignedTransaction | undefined;
  /** A broadcast of `signed` failed in transit, so the node may hold it. */
  let ambiguous = false;
  for (let attempt = row.attempts + 1; ; attempt++) {
    ctx.assertWriter();
    let phase: Phase = "estimate";
    try {
      if (!signed) {
        const gasLimit = await estimateGasLimit(ctx, row);
        phase = "sign";
        signed = await sign(ctx, row, gasLimit);
        const persisted = await ctx.repository.transition(row.id, ["created"], {
          state: "sent",
          nonce: signed.nonce,
          hash: signed.hash,
          rawTx: signed.raw,
          gasLimit: Number(signed.gasLimit),
          attempts: attempt,
          broadcastAt: new Date(),
          lastError: null,
        });
        if (!persisted) return; // No longer queued: it is not ours to send.
        ctx.nonces.commit(signed.nonce);
        row = persisted;
      } else {
        row = (await ctx.repository.transition(row.id, ["sent"], { attempts: attempt, broadcastAt: new Date() })) ?? row;
      }
      phase = "broadcast";
      ctx.assertWriter();
      await onChain(ctx.provider.broadcastTransaction(signed.raw));
      log(ctx, row, attempt, phase, "sent");
      return;
    } catch (error) {
      if (!(error instanceof ChainCallError)) {
        // Not the chain (the database, a lost lease): the local nonce may be stale; the row stays as
        // persisted and the next pass (or the monitor) picks it up again.
        ctx.nonces.reset();
        throw error;
      }
      const failure = error.failure;
      const attemptsLeft = attempt < ctx.timing.maxAttempts;

      if (phase !== "broadcast") {
        // Nothing was sent yet. A revert or a refusal is final; anything else may pass on a later try.
        const final = failure.kind === "reverted" || failure.kind === "rejected";
        if (!final && attemptsLeft) {
          await retryLater(ctx, row, attempt, phase, failure);
          continue;
        }
        const why: ChainTransactionFailure = final ? failure.kind : "unavailable";
        await fail(ctx, row, "created", why, failure, attempt);
        log(ctx, row, attempt, phase, "failed", failure);
        return;
      }

      // Broadcast of a persisted, signed transaction.
      if (failure.kind === "already-known") {
        log(ctx, row, attempt, phase, "sent");
        return;
      }
      if (failure.kind === "retryable") {
        ambiguous = true;
        if (attemptsLeft) {
          await retryLater(ctx, row, attempt, phase, failure);
          continue;
        }
      }
      if (ambiguous) {
        // The node may hold it; only the chain can tell now.
        await ctx.repository.transition(row.id, ["sent"], { lastError: failure.message });
        log(ctx, row, attempt, phase, "left-to-monitor", failure);
        return;
      }
      if (failure.kind === "nonce-conflict" && attemptsLeft) {
        // The node refused it outright: another sender used this nonce, so nothing of ours is out there.
        // Queue the row again and sign afresh with a nonce re-read from the chain.
        ctx.nonces.reset();
        const requeued = await ctx.repository.transition(row.id, ["sent"], {
          state: "created",
          nonce: null,
          hash: null,
          rawTx: null,
          gasLimit: null,
          broadcastAt: null,
          lastError: failure.message,
        });
        log(ctx, row, attempt, phase, "requeued", failure);
        if (!requeued) return;
        row = requeued;
        signed = undefined;
        continue;
      }
      // Refused outright (funds, fee caps …, or the nonce kept being taken): nothing of ours is out there.
      await fail(ctx, row, "sent", "rejected", failure, attempt);
      // Its nonce is free for the next request — unless someone else took it, then re-read it.
      if (failure.kind === "nonce-conflict") ctx.nonces.reset();
      else ctx.nonces.rewind(signed!.nonce);
      log(ctx, row, attempt, phase, "failed", failure);
      return;
    }
  }
}

async function estimateGasLimit(ctx: SignerContext, row: ChainTransactionEntity): Promise<bigint> {
  const estimate = await onChain(
    ctx.provider.estimateGas({ from: ctx.address, to: row.to, data: row.data, value: BigInt(row.value) }),
  );
  return (estimate * TX_GAS_HEADROOM_PERCENT) / 100n;
}

async function sign(ctx: SignerContext, row: ChainTransactionEntity, gasLimit: bigint): Promise<SignedTransaction> {
  const [fees, chainId] = await Promise.all([onChain(ctx.provider.getFeeData()), onChain(ctx.chainId())]);
  const nonce = await ctx.nonces.peek();
  const request: TransactionRequest = { to: row.to, data: row.data, value: BigInt(row.value), gasLimit, nonce, chainId };
  // EIP-1559 where the chain has a base fee; legacy pricing otherwise (e.g. a free-gas Besu network).
  if (fees.maxFeePerGas != null) {
    Object.assign(request, { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas });
  } else {
    Object.assign(request, { type: 0, gasPrice: fees.gasPrice ?? 0n });
  }
  const raw = await ctx.wallet.signTransaction(request);
  return { nonce, hash: keccak256(raw), raw, gasLimit };
}

async function fail(
  ctx: SignerContext,
  row: ChainTransactionEntity,
  from: "created" | "sent",
  why: ChainTransactionFailure,
  failure: ChainFailure,
  attempt: number,
): Promise<void> {
  await ctx.repository.transition(row.id, [from], {
    state: "failed",
    failure: why,
    revertData: failure.kind === "reverted" ? failure.data : null,
    lastError: failure.kind === "reverted" ? revertedError(failure.data).message : failure.message,
    attempts: attempt,
  });
}

async function retryLater(ctx: SignerContext, row: ChainTransactionEntity, attempt: number, phase: Phase, failure: ChainFailure) {
  const delay = backoffMs(attempt, ctx.timing);
  await ctx.repository.transition(row.id, [row.state], { attempts: attempt, lastError: failure.message });
  log(ctx, row, attempt, phase, "retry", failure, delay);
  await ctx.sleep(delay);
}

/** One line per attempt; never calldata (it can identify patients), only what an operator acts on. */
function log(
  ctx: SignerContext,
  row: ChainTransactionEntity,
  attempt: number,
  phase: Phase,
  outcome: Outcome,
  failure?: ChainFailure,
  retryInMs?: number,
): void {
  const entry = {
    message: "Chain transaction attempt",
    id: row.id,
    kind: row.kind,
    signer: ctx.address,
    attempt,
    phase,
    outcome,
    ...(row.nonce !== null ? { nonce: row.nonce, hash: row.hash } : {}),
    ...(failure ? { error: failure.kind === "reverted" ? revertedError(failure.data).message : failure.message } : {}),
    ...(retryInMs !== undefined ? { retryInMs } : {}),
  };
  if (outcome === "sent") ctx.logger.log(entry);
  else ctx.logger.warn(entry);
}
