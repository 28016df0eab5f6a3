import { FetchRequest, JsonRpcProvider, Network } from "ethers";

/** Longest a single JSON-RPC call may take before it counts as the chain being unreachable. */
export const RPC_TIMEOUT_MS = 5_000;
export const RPC_POLLING_INTERVAL_MS = 250;

/**
 * A JSON-RPC provider with a bounded request time and a static network: ethers would otherwise retry
 * network detection forever when the node is down, and the service must notice an outage, not hang.
 * The chain id is checked explicitly at boot instead.
 */
export function createRpcProvider(url: string, chainId: number): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = RPC_TIMEOUT_MS;
  return new JsonRpcProvider(request, Network.from(chainId), {
    staticNetwork: Network.from(chainId),
    pollingInterval: RPC_POLLING_INTERVAL_MS,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
}
