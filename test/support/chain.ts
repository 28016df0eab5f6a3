import { BrowserProvider, type JsonRpcSigner } from "ethers";
import type { EIP1193Provider } from "hardhat/types";

/**
 * Hardhat's in-process EVM, about 10 ms per transaction. Each jest worker gets its own instance.
 * `snapshot`/`revert` give every test a clean chain without redeploying.
 */
export interface InProcessChain {
  provider: BrowserProvider;
  raw: EIP1193Provider;
  signers: JsonRpcSigner[];
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
  mine(blocks?: number): Promise<void>;
  setNextTimestamp(seconds: number): Promise<void>;
  latestTimestamp(): Promise<number>;
}

export async function inProcessChain(): Promise<InProcessChain> {
  const hre = require("hardhat");
  const raw = hre.network.provider as EIP1193Provider;
  const provider = new BrowserProvider(raw, undefined, { polling: true, pollingInterval: 20, cacheTimeout: -1 });
  const accounts = (await raw.request({ method: "eth_accounts" })) as string[];
  const signers = await Promise.all(accounts.slice(0, 10).map((a) => provider.getSigner(a)));
  return {
    provider,
    raw,
    signers,
    snapshot: async () => (await raw.request({ method: "evm_snapshot" })) as string,
    revert: async (id) => {
      await raw.request({ method: "evm_revert", params: [id] });
    },
    mine: async (blocks = 1) => {
      await raw.request({ method: "hardhat_mine", params: ["0x" + blocks.toString(16)] });
    },
    setNextTimestamp: async (seconds) => {
      await raw.request({ method: "evm_setNextBlockTimestamp", params: [seconds] });
    },
    latestTimestamp: async () => {
      const block = (await raw.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
        timestamp: string;
      };
      return Number(block.timestamp);
    },
  };
}
