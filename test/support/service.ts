import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { JsonRpcApiProvider } from "ethers";
import { createApp } from "../../service/app";
import type { Deployment } from "../../service/chain/deployment";
import { loadConfig } from "../../service/config/app-config";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import { testDatabase, type TestDatabase } from "./database";

export interface TestService {
  app: NestFastifyApplication;
  database: TestDatabase;
  deploymentFile: string;
  request(options: { method: string; url: string; payload?: unknown; headers?: Record<string, string> }): Promise<{
    status: number;
    headers: Record<string, string | string[] | number | undefined>;
    body: any;
    text: string;
  }>;
  close(): Promise<void>;
}

/** Secrets and signer keys every test service runs with (Hardhat's public dev keys). */
export function testServiceEnv(): Record<string, string> {
  return {
    JWT_SECRET: "test-secret-test-secret-test-secret-0",
    MASTER_KEY: "11".repeat(32),
    RELAYER_PRIVATE_KEY: demoAccount("relayer").privateKey,
    ANCHORER_PRIVATE_KEY: demoAccount("anchorer").privateKey,
    REGISTRAR_PRIVATE_KEY: demoAccount("registrar").privateKey,
    // Tests drive one account hard; the rate-limit test turns limiting on.
    RATE_LIMIT_PER_MINUTE: "0",
  };
}

/** Writes a deployment to a temporary file, as the service reads deployments from disk. */
export function writeTempDeployment(deployment: Deployment): string {
  const file = join(mkdtempSync(join(tmpdir(), "consentry-")), "deployment.json");
  writeFileSync(file, JSON.stringify(deployment));
  return file;
}

/** The service in this process over `provider`, with its own database. HTTP goes through Fastify's inject. */
export async function startTestService(options: {
  deployment: Deployment;
  provider?: JsonRpcApiProvider;
  env?: Record<string, string>;
  database?: TestDatabase;
  /** Where the service's log lines go (a test reads them); stdout by default. */
  logDestination?: { write(line: string): void };
}): Promise<TestService> {
  const database = options.database ?? (await testDatabase());
  const deploymentFile = writeTempDeployment(options.deployment);
  const config = loadConfig({
    CHAIN_RPC_URL: "http://127.0.0.1:8545",
    ...testServiceEnv(),
    LOG_LEVEL: "error",
    ...database.settings,
    ...options.env,
    DEPLOYMENT: deploymentFile,
  });
  const app = await createApp(config, { provider: options.provider, logDestination: options.logDestination });
  return {
    app,
    database,
    deploymentFile,
    async request({ method, url, payload, headers }) {
      const response = await app.getHttpAdapter().getInstance().inject({
        method: method as "GET",
        url,
        payload: payload as string | object | undefined,
        headers,
      });
      let body: unknown;
      try {
        body = response.body ? JSON.parse(response.body) : undefined;
      } catch {
        body = undefined;
      }
      return { status: response.statusCode, headers: response.headers, body, text: response.body };
    },
    async close() {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}
