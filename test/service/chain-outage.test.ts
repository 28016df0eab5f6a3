import { Wallet } from "ethers";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { runTs, type RunningProcess } from "../support/process";
import { startTestService, type TestService } from "../support/service";
import { TcpProxy } from "../support/tcp-proxy";

/** The chain runs in its own process and the service reaches it through a relay we can cut. */
describe("when the chain cannot be reached", () => {
  let node: RunningProcess;
  let proxy: TcpProxy;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  let hospitalAuth: Record<string, string>;
  const alice = walletOf("patient", 0);

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    const [, url] = await node.waitFor(/CHAIN (\S+)/);
    const direct = createRpcProvider(url, 31337);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, direct));
    direct.destroy();
    proxy = new TcpProxy(Number(new URL(url).port));
    await proxy.start();
    service = await startTestService({ deployment, env: { CHAIN_RPC_URL: proxy.url, INDEXER_POLL_MS: "100" } });
    const provider = createRpcProvider(proxy.url, 31337);
    client = consentClient(service, provider, deployment);
    hospitalAuth = await client.signIn(walletOf("institution", 0));
    expect((await client.enrol(alice, hospitalAuth)).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const signed = await client.signGrant(alice, client.terms(alice));
    const granted = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } });
    expect(granted.status).toBe(201);
  });

  afterAll(async () => {
    await service?.close();
    await proxy?.stop();
    node?.child.kill("SIGKILL");
  });

  const ask = () =>
    service.request({ method: "POST", url: "/consent-decisions", headers: hospitalAuth, payload: { patient: alice.address, categories: 8, purpose: "TREAT" } });

  it("answers 503 instead of a permit while the chain is cut off, and permits again once it is back", async () => {
    expect((await ask()).body.decision).toBe("permit");

    await proxy.stop();
    const cutAt = Date.now();
    let first503At: number | undefined;
    for (let i = 0; i < 200 && first503At === undefined; i++) {
      const res = await ask();
      if (res.status === 503) {
        expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({ type: "urn:consentry:problem:consent-state-unavailable", reason: "chain-unreachable" });
        first503At = Date.now();
      } else {
        expect(res.body.decision).toBe("permit");
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(first503At).toBeDefined();
    expect(first503At! - cutAt).toBeLessThan(2_000);
    // Still refusing a while later: nothing stale slips through.
    await new Promise((r) => setTimeout(r, 300));
    expect((await ask()).status).toBe(503);

    const health = await service.request({ method: "GET", url: "/health" });
    expect(health.status).toBe(503);

    await proxy.start();
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      back = (await ask()).body.decision === "permit";
      if (!back) await new Promise((r) => setTimeout(r, 50));
    }
    expect(back).toBe(true);
  });
});
