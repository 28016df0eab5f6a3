import { runTs, type RunningProcess } from "./process";
import { testServiceEnv } from "./service";

/** The service as its own process (service/main.ts), for crash and restart tests. */
export async function startServiceProcess(env: Record<string, string>): Promise<{ proc: RunningProcess; url: string }> {
  const proc = runTs("service/main.ts", {
    PORT: "0",
    LOG_LEVEL: "warn",
    ...testServiceEnv(),
    ...env,
  });
  const [, url] = await proc.waitFor(/"message":"Listening","url":"([^"]+)"/);
  return { proc, url };
}
