/**
 * Readiness and "eventually" for tests that hold on a busy machine. A test waits for a condition by polling
 * it until a deadline, never with a fixed sleep: the deadlines are sized for a loaded CI runner (load average
 * several times the cores), and a quiet machine passes as soon as the condition holds.
 */
import { FetchRequest, JsonRpcProvider, Network } from "ethers";

/** Longest wait for a process to become ready (a chain, the service, `npm start` with its compile step). */
export const READY_TIMEOUT_MS = Number(process.env.TEST_READY_TIMEOUT_MS ?? 240_000);

/** Longest wait for something a running system does on its own (an indexer poll, an anchoring pass). */
export const SETTLE_TIMEOUT_MS = Math.max(60_000, READY_TIMEOUT_MS / 2);

/**
 * Polls `check` every `stepMs` until it returns a truthy value, which it returns; throws naming `what` once
 * `timeoutMs` has passed (with the last error `check` threw, if any).
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { timeoutMs?: number; stepMs?: number } = {},
): Promise<T> {
  const { timeoutMs = SETTLE_TIMEOUT_MS, stepMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError ? `: ${(lastError as Error).message ?? String(lastError)}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** Polls `url` until it answers `status` (connection errors count as not yet). */
export function httpReady(url: string, options: { status?: number; timeoutMs?: number } = {}): Promise<Response> {
  const { status = 200, timeoutMs = READY_TIMEOUT_MS } = options;
  return pollUntil(`${url} to answer ${status}`, async () => {
    const res = await fetch(url).catch(() => null);
    if (res?.status === status) return res;
    await res?.body?.cancel();
    return null;
  }, { timeoutMs, stepMs: 250 });
}

/**
 * A JSON-RPC provider for a test's own set-up (deploying contracts, reading the ledger): the service's
 * 5 s request timeout counts a slow answer as an outage, which on a loaded machine is only slowness.
 */
export function testChainProvider(url: string, chainId = 31337): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = SETTLE_TIMEOUT_MS;
  return new JsonRpcProvider(request, Network.from(chainId), { staticNetwork: Network.from(chainId), pollingInterval: 250, batchMaxCount: 1, cacheTimeout: -1 });
}
