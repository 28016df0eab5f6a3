import { createServer, type AddressInfo } from "node:net";
import { Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { runTs, type RunningProcess } from "../support/process";
import { READY_TIMEOUT_MS } from "../support/ready";
import { testServiceEnv, writeTempDeployment } from "../support/service";

const TOKEN = "cluster-metrics-token-0123456789-abcdef";

/**
 * Several workers (WEB_CONCURRENCY=2): a scrape reports all of them, aggregated by the primary — on
 * METRICS_PORT (the primary's own listener) and on the service's port (whichever worker answers asks the
 * primary). PostgreSQL only, as workers need a shared database (TEST_DATABASE_URL, as in CI).
 */
(process.env.TEST_DATABASE_URL ? describe : describe.skip)("metrics across workers", () => {
  let node: RunningProcess;
  let service: RunningProcess | undefined;
  let deployment: Deployment;
  let database: TestDatabase;
  let chainUrl: string;

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    const provider = createRpcProvider(chainUrl, 31337);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    provider.destroy();
    database = await testDatabase();
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill("SIGKILL");
    node?.child.kill("SIGKILL");
    await database?.drop();
  });

  it("sums the workers' request counts, however the scrape arrives", async () => {
    service = runTs("service/main.ts", {
      ...testServiceEnv(),
      PORT: "0",
      LOG_LEVEL: "log",
      WEB_CONCURRENCY: "2",
      METRICS_PORT: "0",
      METRICS_TOKEN: TOKEN,
      CHAIN_RPC_URL: chainUrl,
      DEPLOYMENT: writeTempDeployment(deployment),
      ...database.settings,
    });
    const [, metricsUrl] = await service.waitFor(/"message":"Metrics listening","url":"([^"]+)"/);
    await service.waitFor(/"message":"Listening"[^\n]*\n[^]*"message":"Listening"/);
    const [, url] = service.stdout().match(/"message":"Listening","url":"([^"]+)"/)!;

    const REQUESTS = 60;
    // Several connections at once, so that both workers serve some (the primary deals connections round robin).
    const statuses = await Promise.all(Array.from({ length: REQUESTS }, async () => (await fetch(`${url}/health`, { headers: { connection: "close" } })).status));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const pids = new Set([...service.stdout().matchAll(/"pid":(\d+),"context":"HTTP","message":"Request"[^\n]*"route":"\/health"/g)].map((m) => m[1]));
    expect(pids.size).toBe(2);

    const count = (text: string) => Number(/^consentry_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} (\d+)$/m.exec(text)?.[1]);
    const onMetricsPort = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(onMetricsPort.status).toBe(200);
    const aggregated = await onMetricsPort.text();
    expect(count(aggregated)).toBe(REQUESTS);
    // Gauges read from shared state are not summed: one trail, whatever the number of workers.
    expect(/^consentry_trail_ok (\d+)$/m.exec(aggregated)?.[1]).toBe("1");
    expect(/^consentry_indexer_fresh (\d+)$/m.exec(aggregated)?.[1]).toBe("1");

    // On the service's port, through either worker: the same sums.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, connection: "close" } });
      expect(res.status).toBe(200);
      expect(count(await res.text())).toBe(REQUESTS);
    }
    expect((await fetch(metricsUrl)).status).toBe(401);

    service.child.kill("SIGTERM");
    await service.exited;
  }, 2 * READY_TIMEOUT_MS + 60_000);

  it("stops at start, with one fatal line and no worker forked, when METRICS_PORT cannot be bound", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const busy = runTs("service/main.ts", {
        ...testServiceEnv(),
        PORT: "0",
        LOG_LEVEL: "log",
        WEB_CONCURRENCY: "2",
        METRICS_PORT: String((taken.address() as AddressInfo).port),
        CHAIN_RPC_URL: chainUrl,
        DEPLOYMENT: writeTempDeployment(deployment),
        ...database.settings,
      });
      const { code } = await busy.exited;
      expect(code).toBe(1);
      const output = busy.stdout() + busy.stderr();
      expect(output).toMatch(/"level":"fatal"[^\n]*EADDRINUSE/);
      expect(output).not.toMatch(/"message":"Supervising workers"|"message":"Listening"/);
    } finally {
      taken.close();
    }
  }, READY_TIMEOUT_MS);
});
