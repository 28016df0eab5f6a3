/** Entry point for a separate chain process in tests: prints `CHAIN <url>` and serves until killed. */
import { startLocalChain } from "../../scripts/lib/local-chain";

startLocalChain(0).then(
  (chain) => console.log(`CHAIN ${chain.url}`),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
