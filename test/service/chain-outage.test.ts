import { Wallet } from "ethers";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { ConsentIndexer } from "../../service/projection/consent-indexer";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { runTs, type RunningProcess } from "../support/process";
import { startTestService, type TestService } from "../support/service";
import { TcpProxy } from "../support/tcp-proxy";
import { anchoredRanges, waitUntil } from "../support/trail-assertions";
import { pollUntil, SETTLE_TIMEOUT_MS } from "../support/ready";

/** The chain runs in its own process and the service reaches it through a relay we can cut. */
describe("when the chain cannot be reached", () => {
  let node: RunningProcess;
  let proxy: TcpProxy;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  let hospitalAuth: Record<string, string>;
  let labAuth: Record<string, string>;
  let regulatorAuth: Record<string, string>;
  let conditionId: string;
  const alice = walletOf("patient", 0);

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    const [, url] = await node.waitFor(/CHAIN (\S+)/);
    const direct = createRpcProvider(url, 31337);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, direct));
    direct.destroy();
    proxy = new TcpProxy(Number(new URL(url).port));
    await proxy.start();
    service = await startTestService({ deployment, env: { CHAIN_RPC_URL: proxy.url, INDEXER_POLL_MS: "100", BATCH_MAX_MS: "200" } });
    const provider = createRpcProvider(proxy.url, 31337);
    client = consentClient(service, provider, deployment);
    hospitalAuth = await client.signIn(walletOf("institution", 0));
    expect((await client.enrol(alice, hospitalAuth)).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const signed = await client.signGrant(alice, client.terms(alice));
    const granted = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } });
    expect(granted.status).toBe(201);
    labAuth = await client.signIn(walletOf("institution", 1));
    regulatorAuth = await client.signIn(walletOf("regulator", 0));
    const conditions = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: 1 << 2 }));
    expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...conditions, wait: true } })).status).toBe(201);
    const condition = await service.request({
      method: "POST",
      url: "/fhir/Condition",
      headers: hospitalAuth,
      payload: {
        resourceType: "Condition",
        clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
        code: { coding: [{ system: "http://snomed.info/sct", code: "44054006", display: "Diabetes mellitus type 2" }] },
        subject: { identifier: { system: "urn:ietf:rfc:3986", value: `did:pkh:eip155:31337:${alice.address}` } },
      },
    });
    expect(condition.status).toBe(201);
    conditionId = condition.body.id;
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
    // Still refusing after the indexer has tried again, twice: nothing stale slips through.
    const polls = jest.spyOn(service.app.get(ConsentIndexer), "poll");
    try {
      await pollUntil("two more indexer polls", () => polls.mock.calls.length >= 2, { stepMs: 20 });
    } finally {
      polls.mockRestore();
    }
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

  it("stops releasing records while cut off, keeps every attempt, and anchors them all once the chain is back", async () => {
    const read = () => service.request({ method: "GET", url: `/fhir/Condition/${conditionId}?purpose=TREAT`, headers: labAuth });
    expect((await read()).status).toBe(200);

    await proxy.stop();
    let refused = 0;
    for (let i = 0; i < 100 && refused < 10; i++) {
      const res = await read();
      if (res.status === 503) {
        refused++;
        expect(res.body.resourceType).toBe("OperationOutcome"); // the refusal, never the record
      } else {
        expect(res.status).toBe(200); // only in the first instants, before the outage is noticed
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe(10);
    // Signing in reads roles from the chain, so it too answers 503 now rather than guessing.
    const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: walletOf("regulator", 0).address } });
    const signature = await walletOf("regulator", 0).signMessage(challenge.body.message);
    const login = await service.request({ method: "POST", url: "/auth/token", payload: { message: challenge.body.message, signature } });
    expect([login.status, login.body.type]).toEqual([503, "urn:consentry:problem:chain-unavailable"]);
    // Authority too comes from the chain: while it is cut off, even the regulator's trail read is refused.
    const cutOff = await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: regulatorAuth });
    expect([cutOff.status, cutOff.body.type]).toEqual([503, "urn:consentry:problem:consent-state-unavailable"]);

    await proxy.start();
    const trailRead = () => service.request({ method: "GET", url: "/audit/events?limit=1000", headers: regulatorAuth });
    expect(await waitUntil(async () => (await trailRead()).status === 200, SETTLE_TIMEOUT_MS)).toBe(true);
    const trail = (await trailRead()).body.events;
    expect(trail.filter((e: { decision: string }) => e.decision === "unavailable").length).toBeGreaterThanOrEqual(10);
    const lastSeq = trail.at(-1).seq;

    const provider = createRpcProvider(proxy.url, 31337);
    try {
      expect(await waitUntil(async () => (await anchoredRanges(provider, deployment)).nextSeq > lastSeq, SETTLE_TIMEOUT_MS)).toBe(true);
    } finally {
      provider.destroy();
    }
    expect((await read()).status).toBe(200);
  });
});
