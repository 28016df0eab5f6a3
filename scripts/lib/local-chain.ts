import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";

export interface LocalChain {
  url: string;
  close(): Promise<void>;
}

/** Hardhat's network served over JSON-RPC from this process, like `hardhat node`. Port 0 picks a free one. */
export async function startLocalChain(port: number): Promise<LocalChain> {
  const hre = require("hardhat");
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  const { port: actualPort } = await server.listen();
  return { url: `http://127.0.0.1:${actualPort}`, close: () => server.close() };
}
