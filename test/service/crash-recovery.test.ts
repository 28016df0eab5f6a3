import { Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { runTs, type RunningProcess } from "../support/process";
import { writeTempDeployment } from "../support/service";
import { startServiceProcess } from "../support/service-process";
import { anchoredRanges, waitUntil } from "../support/trail-assertions";
import { pollUntil, SETTLE_TIMEOUT_MS, testChainProvider } from "../support/ready";

/**
 * SIGKILL the service while it records and anchors, restart it on the same database and chain, and
 * check from the chain that every recorded event ended up anchored exactly once.
 */
describe("crash recovery", () => {
  let node: RunningProcess;
  let chainUrl: string;
  let deployment: Deployment;
  let database: TestDatabase;
  let deploymentFile: string;

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    const provider = testChainProvider(chainUrl);
    deployment = await deployWithDemoRoles(new Wallet(demoAccount("admin").privateKey, provider));
    provider.destroy();
    deploymentFile = writeTempDeployment(deployment);
    database = await testDatabase({ persistent: true });
  });

  afterAll(async () => {
    node?.child.kill("SIGKILL");
    await database?.drop();
  });

  async function signIn(url: string, wallet: Wallet): Promise<string> {
    const challenge = (await (await fetch(`${url}/auth/challenge`, post({ address: wallet.address }))).json()) as { message: string };
    const signed = post({ message: challenge.message, signature: await wallet.signMessage(challenge.message) });
    const token = (await (await fetch(`${url}/auth/token`, signed)).json()) as { accessToken: string };
    return `Bearer ${token.accessToken}`;
  }

  /** Fires decisions as fast as they are answered until stopped; counts the ones answered 200. */
  function load(url: string, auth: string) {
    let stopped = false;
    let answered = 0;
    const patient = demoAccount("patient", 0).address;
    const done = (async () => {
      while (!stopped) {
        try {
          const res = await fetch(`${url}/consent-decisions`, post({ patient, categories: 8, purpose: "TREAT" }, auth));
          if (res.status === 200) answered++;
        } catch {
          return; // the process died under us
        }
      }
    })();
    return { answered: () => answered, stop: async () => ((stopped = true), await done, answered) };
  }

  it("anchors every event exactly once across repeated SIGKILLs", async () => {
    const env = { CHAIN_RPC_URL: chainUrl, DEPLOYMENT: deploymentFile, BATCH_MAX_MS: "150", BATCH_MAX_EVENTS: "20", ...database.settings };
    const hospital = new Wallet(demoAccount("institution", 0).privateKey);
    let answered = 0;
    for (let round = 0; round < 3; round++) {
      const { proc, url } = await startServiceProcess(env);
      const traffic = load(url, await signIn(url, hospital));
      // Killed mid-load: once it has answered a number of decisions (more each round), however slow the machine.
      await pollUntil("decisions to be answered under load", () => traffic.answered() >= 20 + round * 10, { stepMs: 20 });
      proc.child.kill("SIGKILL");
      await proc.exited;
      answered += await traffic.stop();
    }
    const { proc, url } = await startServiceProcess(env);
    const auth = await signIn(url, new Wallet(demoAccount("regulator").privateKey));
    const lastSeq = async () => {
      const res = await fetch(`${url}/audit/events?limit=1000&after=${Math.max(0, answered - 5)}`, { headers: { authorization: auth } });
      const page = (await res.json()) as { events: Array<{ seq: number }> };
      return page.events.length ? page.events.at(-1)!.seq : 0;
    };
    const provider = testChainProvider(chainUrl);
    try {
      let recorded = 0;
      expect(
        await waitUntil(async () => {
          recorded = await lastSeq();
          return (await anchoredRanges(provider, deployment)).nextSeq === recorded + 1;
        }, SETTLE_TIMEOUT_MS, 250),
      ).toBe(true);
      // Every answered decision was recorded before its answer; killed requests may add a few more.
      expect(recorded).toBeGreaterThanOrEqual(answered);
      const { batches } = await anchoredRanges(provider, deployment);
      expect(batches[0].firstSeq).toBe(1);
      for (let i = 1; i < batches.length; i++) expect(batches[i].firstSeq).toBe(batches[i - 1].lastSeq + 1);
      expect(batches.at(-1)!.lastSeq).toBe(recorded);
      // Each on-chain root is the root of exactly the events the database holds for that batch.
      const viewOf = async (batchId: number) =>
        (await (await fetch(`${url}/audit/batches/${batchId}`, { headers: { authorization: auth } })).json()) as Record<string, unknown>;
      // The chain may learn of the last batch a moment before the database records its receipt.
      expect(await waitUntil(async () => (await viewOf(batches.at(-1)!.batchId)).state === "confirmed", SETTLE_TIMEOUT_MS)).toBe(true);
      for (const b of [batches[0], batches[Math.floor(batches.length / 2)], batches.at(-1)!]) {
        expect(await viewOf(b.batchId)).toMatchObject({ root: b.root, firstSeq: b.firstSeq, lastSeq: b.lastSeq, state: "confirmed" });
      }
    } finally {
      provider.destroy();
      proc.child.kill("SIGTERM");
      await proc.exited;
    }
  });
});

function post(body: unknown, authorization?: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  };
}
