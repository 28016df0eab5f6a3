import fc from "fast-check";
import { Contract, Wallet, ZeroAddress, toBeHex } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import { loadArtifact } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";
import { ConsentIndexer } from "../../service/projection/consent-indexer";
import { DecisionService } from "../../service/decisions/decision.service";
import { ROLES } from "../../service/domain/roles";
import { CHAIN_DECISIONS } from "../../service/domain/vocabulary";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

/**
 * The service decides from its projection; the contract decides from its storage. For random consent
 * sets, institution role changes over time and random questions at past instants, they must name the same
 * decision and the same deciding consent.
 */
describe("service and contract decisions agree", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let registry: Contract;
  let asRegistrar: Contract;
  const institutionA = demoAccount("institution", 0).address;
  const institutionB = demoAccount("institution", 1).address;
  const stranger = demoAccount("patient", 1).address;

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "50" } });
    registry = new Contract(deployment.contracts.ConsentRegistry.address, loadArtifact("ConsentRegistry").abi, chain.provider);
    asRegistrar = registry.connect(chain.signers[0]) as Contract;
  });

  afterAll(() => service.close());

  const consentArb = fc.record({
    grantee: fc.constantFrom(institutionA, institutionB, ZeroAddress),
    categories: fc.integer({ min: 1, max: 0b1111 }),
    purposes: fc.integer({ min: 1, max: 0b111 }),
    effect: fc.constantFrom(0, 1),
    validFrom: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
    validFor: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
    revokeAfter: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
  });
  const roleChangeArb = fc.record({
    account: fc.constantFrom(institutionB, stranger),
    grant: fc.boolean(),
    at: fc.integer({ min: 0, max: 200 }),
  });
  const questionArb = fc.record({
    requester: fc.constantFrom(institutionA, institutionB, stranger),
    categories: fc.integer({ min: 1, max: 0b1111 }),
    purposes: fc.integer({ min: 1, max: 0b111 }),
    at: fc.integer({ min: 0, max: 300 }),
  });

  it("for random consent sets and questions", async () => {
    const decisions = service.app.get(DecisionService);
    const indexer = service.app.get(ConsentIndexer);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(consentArb, { minLength: 1, maxLength: 6 }),
        fc.array(roleChangeArb, { maxLength: 4 }),
        fc.array(questionArb, { minLength: 4, maxLength: 8 }),
        async (consents, roleChanges, questions) => {
          runs++;
          // Every run starts from the demo roles: B an institution (grants to it must be accepted), the stranger not.
          await (await asRegistrar.grantRole(ROLES.institution, institutionB)).wait();
          await (await asRegistrar.revokeRole(ROLES.institution, stranger)).wait();
          const patient = Wallet.createRandom().connect(chain.provider);
          await chain.raw.request({ method: "hardhat_setBalance", params: [patient.address, toBeHex(10n ** 20n)] });
          const asPatient = registry.connect(patient) as Contract;
          const base = (await chain.latestTimestamp()) + 10;
          const ids: string[] = [];
          // Grants every 10 s, revocations afterwards, each at a known block time.
          const revocations: Array<{ at: number; index: number }> = [];
          for (const [i, c] of consents.entries()) {
            const grantedAt = base + i * 10;
            const validFrom = c.validFrom === undefined ? 0 : base + c.validFrom;
            let validUntil = c.validFor === undefined ? 0 : Math.max(validFrom, base) + c.validFor;
            if (validUntil !== 0 && validUntil <= grantedAt) validUntil = 0;
            await chain.setNextTimestamp(grantedAt);
            const receipt = await (
              await asPatient.grant({ patient: patient.address, grantee: c.grantee, categories: c.categories, purposes: c.purposes, effect: c.effect, validFrom, validUntil })
            ).wait();
            ids.push(asPatient.interface.parseLog(receipt!.logs[0])!.args.consentId);
            if (c.revokeAfter !== undefined) revocations.push({ at: grantedAt + c.revokeAfter, index: i });
          }
          // Revocations and role changes in time order, each in a block of its own at a known time.
          const later = [
            ...revocations.map((r) => ({ at: r.at, run: () => asPatient.revoke(ids[r.index]) })),
            ...roleChanges.map((r) => ({
              at: base + consents.length * 10 + r.at,
              run: () => (r.grant ? asRegistrar.grantRole(ROLES.institution, r.account) : asRegistrar.revokeRole(ROLES.institution, r.account)),
            })),
          ].sort((a, b) => a.at - b.at);
          let clock = base + consents.length * 10;
          for (const step of later) {
            clock = Math.max(clock + 1, step.at);
            await chain.setNextTimestamp(clock);
            await (await step.run()).wait();
          }
          expect(await indexer.waitForBlock(await chain.provider.getBlockNumber(), 10_000)).toBe(true);

          for (const q of questions) {
            const at = base + q.at + (q.at % 3 === 0 ? 0 : consents.length * 10); // some instants among the role changes
            const [onChainDecision, onChainId] = await registry.decide(patient.address, q.requester, q.categories, q.purposes, at);
            const offChain = await decisions.decide({ patient: patient.address, requester: q.requester, categories: q.categories, purposes: q.purposes, at });
            expect({ outcome: offChain.outcome, consentId: offChain.consentId }).toEqual({
              outcome: CHAIN_DECISIONS[Number(onChainDecision)],
              consentId: onChainDecision === 0n ? null : onChainId,
            });
          }
        },
      ),
      { numRuns: 25, endOnFailure: true },
    );
    expect(runs).toBe(25);
  });
});
