import { join } from "node:path";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { PROJECT_ROOT } from "../../service/paths";

export interface LocalChain {
  url: string;
  close(): Promise<void>;
}

/** Hardhat's network served over JSON-RPC from this process, like `hardhat node`. Port 0 picks a free one. */
export async function startLocalChain(port: number): Promise<LocalChain> {
  // Compiled (npm start runs dist/ on plain node), Hardhat could not load hardhat.config.ts: it registers no
  // TypeScript hook when used as a library. Point it at the config compiled into dist/.
  if (__filename.endsWith(".js")) process.env.HARDHAT_CONFIG ??= join(PROJECT_ROOT, "dist", "hardhat.config.js");
  const hre = require("hardhat");
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  const { port: actualPort } = await server.listen();
  return { url: `http://127.0.0.1:${actualPort}`, close: () => server.close() };
}
