import { Wallet } from "ethers";
import { deployContracts } from "../../scripts/lib/deploy-contracts";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { testDatabase } from "../support/database";
import { startTestService, type TestService } from "../support/service";

describe("service boot", () => {
  let chain: InProcessChain;
  let deployment: Deployment;

  beforeAll(async () => {
    chain = await inProcessChain();
    ({ deployment } = await deployContracts(chain.signers[0], "hardhat"));
  });

  describe("with a valid deployment", () => {
    let service: TestService;
    beforeAll(async () => {
      service = await startTestService({ deployment, provider: chain.provider });
    });
    afterAll(() => service.close());

    it("reports database, chain head and deployment on /health", async () => {
      const res = await service.request({ method: "GET", url: "/health" });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("ok");
      expect(res.body.database.ok).toBe(true);
      expect(res.body.chain).toMatchObject({ ok: true, chainId: 31337, head: await chain.provider.getBlockNumber() });
      expect(res.body.deployment.consentRegistry).toBe(deployment.contracts.ConsentRegistry.address);
    });

    it("serves the OpenAPI document at /docs", async () => {
      const page = await service.request({ method: "GET", url: "/docs" });
      expect(page.status).toBe(200);
      expect(page.headers["content-type"]).toMatch(/text\/html/);
      const doc = await service.request({ method: "GET", url: "/docs/openapi.json" });
      expect(doc.body.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.body.paths)).toContain("/health");
    });

    it("answers an unknown route with a problem body", async () => {
      const res = await service.request({ method: "GET", url: "/no/such/route" });
      expect(res.status).toBe(404);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: "urn:consentry:problem:not-found", status: 404 });
    });
  });

  (process.env.TEST_DATABASE_URL ? it : it.skip)("boots several instances at once on a fresh database: they migrate one at a time", async () => {
    const database = await testDatabase();
    const started: TestService[] = [];
    try {
      const boots = await Promise.allSettled([0, 1, 2].map(() => startTestService({ deployment, provider: chain.provider, database })));
      for (const boot of boots) if (boot.status === "fulfilled") started.push(boot.value);
      expect(boots.map((b) => (b.status === "rejected" ? String(b.reason).slice(0, 200) : "ok"))).toEqual(["ok", "ok", "ok"]);
      for (const service of started) expect((await service.request({ method: "GET", url: "/health" })).body.database.ok).toBe(true);
    } finally {
      for (const service of started) await service.close();
      await database.drop();
    }
  });

  it("refuses to start when the chain id differs from the deployment's", async () => {
    await expect(startTestService({ deployment: { ...deployment, chainId: 1 }, provider: chain.provider })).rejects.toThrow(
      "The chain has chainId 31337 but the deployment file is for chainId 1",
    );
  });

  it("refuses to start when no contract code is at the deployment's address", async () => {
    const empty = Wallet.createRandom().address;
    const broken = {
      ...deployment,
      contracts: { ...deployment.contracts, AccessLedger: { ...deployment.contracts.AccessLedger, address: empty } },
    };
    await expect(startTestService({ deployment: broken, provider: chain.provider })).rejects.toThrow(
      `No AccessLedger contract at ${empty} on chain 31337`,
    );
  });

  it("refuses a database that belongs to another deployment", async () => {
    const other = (await deployContracts(new Wallet(demoAccount("admin").privateKey, chain.provider), "other")).deployment;
    const database = await testDatabase({ persistent: true });
    const first = await startTestService({ deployment, provider: chain.provider, database });
    // Keep the first service's database and point a second service at it with another deployment.
    await first.app.close();
    await expect(
      startTestService({ deployment: other, provider: chain.provider, database }),
    ).rejects.toThrow(/The database belongs to another deployment/);
    await database.drop();
  });
});
