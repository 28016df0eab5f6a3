import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Deployment } from "../../service/chain/deployment";
import { AnchorService } from "../../service/audit/anchor.service";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { anchoredRanges, waitUntil, verifyOnChain } from "../support/trail-assertions";

/** Access events become leaves of batches anchored on chain; anyone can check a proof. */
describe("anchoring the access trail", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let hospitalAuth: Record<string, string>;
  let regulatorAuth: Record<string, string>;
  const alice = walletOf("patient", 0);

  const decide = (categories = 8) =>
    service.request({ method: "POST", url: "/consent-decisions", headers: hospitalAuth, payload: { patient: alice.address, categories, purpose: "TREAT" } });

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { BATCH_MAX_MS: "200", BATCH_MAX_EVENTS: "25" } });
    const client = consentClient(service, chain.provider, deployment);
    hospitalAuth = await client.signIn(walletOf("institution", 0));
    regulatorAuth = await client.signIn(walletOf("regulator", 0));
  });

  afterAll(() => service.close());

  it("anchors every event exactly once in contiguous batches, and serves proofs that verify on chain and with OpenZeppelin's library", async () => {
    for (let i = 0; i < 60; i++) expect((await decide()).status).toBe(200);
    const page = await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: regulatorAuth });
    const lastSeq = page.body.events.at(-1).seq;
    expect(await waitUntil(async () => (await anchoredRanges(chain.provider, deployment)).nextSeq === lastSeq + 1)).toBe(true);

    const { ledger, batches } = await anchoredRanges(chain.provider, deployment);
    expect(batches[0].firstSeq).toBe(1);
    batches.forEach((b, i) => i > 0 && expect(b.firstSeq).toBe(batches[i - 1].lastSeq + 1));
    expect(batches.every((b) => b.lastSeq - b.firstSeq + 1 <= 25)).toBe(true);

    const event = page.body.events[37];
    const proof = await service.request({ method: "GET", url: `/audit/events/${event.id}/proof`, headers: regulatorAuth });
    expect(proof.status).toBe(200);
    const { leafEncoding, leafValues, leaf, batch } = proof.body;
    const onChain = batches.find((b) => b.batchId === batch.batchId)!;
    expect(batch.root).toBe(onChain.root);
    expect(StandardMerkleTree.verify(onChain.root, leafEncoding, leafValues, proof.body.proof)).toBe(true);
    expect(leaf).toBe(await ledger.leafOf(leafValues));
    expect(await verifyOnChain(ledger, proof.body)).toBe(true);
    // A proof for one event does not prove another.
    const other = await service.request({ method: "GET", url: `/audit/events/${page.body.events[38].id}/proof`, headers: regulatorAuth });
    expect(await verifyOnChain(ledger, { ...proof.body, leafValues: other.body.leafValues })).toBe(false);

    // The database learns of the last receipt a moment after the chain has it.
    const backlog = async () => (await service.request({ method: "GET", url: "/health" })).body.anchoring;
    expect(await waitUntil(async () => (await backlog()).unconfirmedBatches === 0)).toBe(true);
    expect(await backlog()).toMatchObject({ ok: true, unconfirmedBatches: 0, unbatchedEvents: 0 });

    const batchView = await service.request({ method: "GET", url: `/audit/batches/${batch.batchId}`, headers: regulatorAuth });
    expect(batchView.body).toMatchObject({ batchId: batch.batchId, root: onChain.root, state: "confirmed", chainId: 31337 });
    expect(batchView.body.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("anchors again, idempotently, without sending anything when the chain already has every batch", async () => {
    const before = await anchoredRanges(chain.provider, deployment);
    const anchorer = await chain.provider.getTransactionCount((await import("../../scripts/lib/demo-accounts")).demoAccount("anchorer").address);
    await service.app.get(AnchorService).tick();
    await service.app.get(AnchorService).tick();
    expect((await anchoredRanges(chain.provider, deployment)).batches.length).toBe(before.batches.length);
    expect(await chain.provider.getTransactionCount((await import("../../scripts/lib/demo-accounts")).demoAccount("anchorer").address)).toBe(anchorer);
  });
});
