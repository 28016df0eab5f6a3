import { demoAccount } from "../../scripts/lib/demo-accounts";
import { runTs, type RunningProcess } from "./process";

/** The service as its own process (service/main.ts), for crash and restart tests. */
export async function startServiceProcess(env: Record<string, string>): Promise<{ proc: RunningProcess; url: string }> {
  const proc = runTs("service/main.ts", {
    PORT: "0",
    LOG_LEVEL: "warn",
    JWT_SECRET: "test-secret-test-secret-test-secret-0",
    MASTER_KEY: "11".repeat(32),
    RELAYER_PRIVATE_KEY: demoAccount("relayer").privateKey,
    ANCHORER_PRIVATE_KEY: demoAccount("anchorer").privateKey,
    ADMIN_PRIVATE_KEY: demoAccount("admin").privateKey,
    ...env,
  });
  const [, url] = await proc.waitFor(/"message":"Listening","url":"([^"]+)"/);
  return { proc, url };
}
