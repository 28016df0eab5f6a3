import { Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { runTs, type RunningProcess } from "../support/process";
import { testChainProvider } from "../support/ready";
import { testServiceEnv, writeTempDeployment } from "../support/service";

/**
 * WEB_CONCURRENCY: several worker processes on one port, sharing PostgreSQL (PGlite cannot be shared, so
 * this runs where TEST_DATABASE_URL names a server, as in CI).
 */
(process.env.TEST_DATABASE_URL ? describe : describe.skip)("several workers on one port", () => {
  let node: RunningProcess;
  let chainUrl: string;
  let deployment: Deployment;
  let database: TestDatabase;

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    const provider = testChainProvider(chainUrl);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    provider.destroy();
    database = await testDatabase();
  });

  afterAll(async () => {
    node?.child.kill("SIGKILL");
    await database?.drop();
  });

  it("serves from two workers, one indexer among them, and stops them all on SIGTERM", async () => {
    const service = runTs("service/main.ts", {
      ...testServiceEnv(),
      PORT: "0",
      LOG_LEVEL: "log",
      WEB_CONCURRENCY: "2",
      CHAIN_RPC_URL: chainUrl,
      DEPLOYMENT: writeTempDeployment(deployment),
      ...database.settings,
    });
    const listening = /"message":"Listening","url":"([^"]+)","worker":\d+/g;
    await service.waitFor(/"message":"Listening"[^\n]*\n[^]*"message":"Listening"/);
    const urls = [...service.stdout().matchAll(listening)].map((m) => m[1]);
    expect(urls).toHaveLength(2);
    expect(urls[1]).toBe(urls[0]); // one port for both
    const first = urls[0];
    const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await fetch(`${first}/health`)).status));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(service.stdout().match(/Consent indexer leadership acquired/g)?.length).toBe(1);
    service.child.kill("SIGTERM");
    const { code } = await service.exited;
    expect(code).toBe(0);
  });
});
