import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/types";
import { PROJECT_ROOT } from "./service/paths";

// The compiler comes from the `solc` npm package, so compiling never needs binaries.soliditylang.org.
const SOLC_VERSION: string = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: require("solc").version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      // Cancun is the newest fork both Hardhat's network and Besu QBFT networks run by default.
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: { hardfork: "cancun", chainId: 31337 },
    localhost: { url: process.env.CHAIN_RPC_URL ?? "http://127.0.0.1:8545" },
    external: { url: process.env.CHAIN_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  // Rooted explicitly: `npm start` loads this file compiled, from dist/ (scripts/transpile.ts).
  paths: { root: PROJECT_ROOT, sources: "./contracts", tests: "./test", cache: "./cache", artifacts: "./artifacts" },
};

export default config;
