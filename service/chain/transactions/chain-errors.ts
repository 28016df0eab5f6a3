import { ErrorFragment, Interface, isError } from "ethers";
import { CONTRACT_NAMES, loadArtifact } from "../artifacts";

/** A chain failure, typed by whether trying again can help (ponder's retryable / non-retryable split). */
export abstract class ChainError extends Error {
  abstract readonly retryable: boolean;
}

/** The node could not be reached or did not answer in time; the same request may succeed later. */
export class ChainUnavailableError extends ChainError {
  override name = "ChainUnavailableError";
  readonly retryable = true;
}

/** The contract rejected the call. Sending it again changes nothing until the chain's state does. */
export class TransactionRevertedError extends ChainError {
  override name = "TransactionRevertedError";
  readonly retryable = false;

  constructor(
    /** The custom error's name (e.g. "ConsentNotFound"), or undefined when the revert carried no known error. */
    readonly errorName: string | undefined,
    readonly errorArgs: readonly unknown[],
    /** Raw revert data, "0x" when the node returned none. */
    readonly data: string,
    where = "estimating gas",
  ) {
    super(`Transaction reverted while ${where}: ${errorName ? `${errorName}(${errorArgs.map(String).join(", ")})` : "no known error"}`);
  }
}

/** The node refused the transaction itself (e.g. insufficient funds); retrying the same one cannot help. */
export class TransactionRejectedError extends ChainError {
  override name = "TransactionRejectedError";
  readonly retryable = false;
}

/** Waiting took longer than allowed. The transaction may still be mined: wait again, do not resubmit. */
export class TransactionTimeoutError extends ChainError {
  override name = "TransactionTimeoutError";
  readonly retryable = true;
}

/** What went wrong with one call to the node, as the sender must act on it. */
export type ChainFailure =
  | { kind: "reverted"; data: string; message: string }
  /** Someone else holds this nonce ("nonce too low", "replacement underpriced"): resync the nonce. */
  | { kind: "nonce-conflict"; message: string }
  /** The node already has this exact transaction: the broadcast succeeded earlier. */
  | { kind: "already-known"; message: string }
  | { kind: "retryable"; message: string }
  | { kind: "rejected"; message: string };

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT",
]);
/** JSON-RPC codes for "limit exceeded" (EIP-1474) and HTTP-style rate limiting. */
const TRANSIENT_RPC_CODES = new Set([-32005, 429]);
const ALREADY_KNOWN = /already known|known transaction|already imported|already in (the )?pool/i;
/** A nonce ahead of the account's (a gap before it): the monitor re-sends the missing ones, then this fits. */
const FUTURE_NONCE = /nonce too high|too distant|future nonce/i;
const TRANSIENT_MESSAGE = /timeout|timed out|temporarily|unavailable|rate limit|too many requests|busy|try again/i;

/** Sorts an error from an ethers provider call into what the caller should do about it. */
export function classifyChainError(error: unknown): ChainFailure {
  const message = safeErrorMessage(error);
  const node = nodeError(error);
  if (hasTransientCode(error) || isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isError(error, "SERVER_ERROR")) {
    return { kind: "retryable", message };
  }
  if (node && TRANSIENT_RPC_CODES.has(node.code ?? 0)) return { kind: "retryable", message };
  if (isError(error, "CALL_EXCEPTION")) {
    return { kind: "reverted", data: typeof error.data === "string" ? error.data : "0x", message };
  }
  if (isError(error, "NONCE_EXPIRED") || isError(error, "REPLACEMENT_UNDERPRICED")) return { kind: "nonce-conflict", message };
  const text = node?.message ?? (error as Error)?.message ?? "";
  if (ALREADY_KNOWN.test(text)) return { kind: "already-known", message };
  if (FUTURE_NONCE.test(text) || TRANSIENT_MESSAGE.test(text)) return { kind: "retryable", message };
  return { kind: "rejected", message };
}

/**
 * A call to the node failed; `failure` says how. Provider calls are wrapped in `onChain` so that only
 * they are classified: a database error (whose code may also be ECONNREFUSED) is never taken for a
 * chain failure.
 */
export class ChainCallError extends Error {
  override name = "ChainCallError";

  constructor(
    readonly failure: ChainFailure,
    override readonly cause: unknown,
  ) {
    super(failure.message);
  }
}

export async function onChain<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new ChainCallError(classifyChainError(error), error);
  }
}

/** Decodes revert data with the ConsentRegistry and AccessLedger ABIs (and Solidity's Error/Panic). */
export function revertedError(data: string, where?: string): TransactionRevertedError {
  let decoded: { name: string; args: unknown[] } | undefined;
  try {
    const parsed = errorInterface().parseError(data);
    if (parsed) decoded = { name: parsed.name, args: parsed.args.toArray(true) };
  } catch {
    // Unknown selector or malformed data: report the raw data only.
  }
  return new TransactionRevertedError(decoded?.name, decoded?.args ?? [], data, where);
}

let errors: Interface | undefined;
function errorInterface(): Interface {
  if (!errors) {
    // Both contracts inherit AccessControl's errors; keep one fragment per selector.
    const bySelector = new Map<string, ErrorFragment>();
    for (const name of CONTRACT_NAMES) Interface.from(loadArtifact(name).abi).forEachError((f) => bySelector.set(f.selector, f));
    errors = new Interface([...bySelector.values()]);
  }
  return errors;
}

/**
 * One line for logs and `last_error`: ethers' short message plus the node's own message, without
 * the request (which carries calldata) and without URLs (which may carry credentials).
 */
export function safeErrorMessage(error: unknown): string {
  const short = (error as { shortMessage?: string })?.shortMessage ?? (error as Error)?.message ?? String(error);
  const node = nodeError(error)?.message;
  const text = node && !short.includes(node) ? `${short}: ${node}` : short;
  return text.split("\n")[0].replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>").slice(0, 300);
}

/** The JSON-RPC error object a node returned, where ethers keeps it. */
function nodeError(error: unknown): { code?: number; message?: string } | undefined {
  const e = error as { error?: { code?: number; message?: string }; info?: { error?: { code?: number; message?: string } } };
  const found = e?.info?.error ?? e?.error;
  return found && typeof found === "object" ? found : undefined;
}

function hasTransientCode(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && TRANSIENT_CODES.has(e.code)) return true;
  }
  return false;
}
