import { spawn, type ChildProcess } from "node:child_process";
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

/** startLocalChain in a node process of its own, so its mining does not share the caller's event loop. */
export async function startChainProcess(): Promise<{ child: ChildProcess; url: string }> {
  const source = `require("./scripts/lib/local-chain").startLocalChain(0).then((c) => console.log("CHAIN " + c.url))`;
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", source], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const match = /CHAIN (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1]);
    });
    child.on("exit", () => reject(new Error("chain process exited")));
  });
  return { child, url };
}
