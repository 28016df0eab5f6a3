import fc from "fast-check";
import { Contract, ZeroAddress, ZeroHash, id, type ContractRunner } from "ethers";
import { Decision, Effect, type ConsentTerms } from "./consent";
import { deployFixture, type ContractsFixture } from "./fixture";
import { expectRevert, mined } from "./helpers";

const INSTITUTION_ROLE = id("INSTITUTION_ROLE");

/**
 * ConsentRegistry.decide against a reference model written from its specification (IConsentRegistry), over
 * random consents, revocations, changes of institution membership, and questions about any instant: before,
 * between and after the changes.
 */
describe("ConsentRegistry.decide matches the reference model", () => {
  let fixture: ContractsFixture;
  let registry: Contract;
  /** Requesters: two institutions at deployment and two accounts without a role. */
  let parties: string[];

  beforeAll(async () => {
    fixture = await deployFixture();
    registry = fixture.registry;
    const a = fixture.accounts;
    parties = [a.institutionA.address, a.institutionB.address, a.stranger.address, a.otherPatient.address];
  });

  function as(runner: ContractRunner): Contract {
    return registry.connect(runner) as Contract;
  }

  type Action =
    | {
        kind: "grant";
        grantee: number; // index into parties, or 4 for the wildcard
        effect: Effect;
        categories: number;
        purposes: number;
        validFrom?: number;
        validFor?: number;
      }
    | { kind: "revoke"; pick: number }
    | { kind: "role"; party: number; member: boolean };

  interface Question {
    requester: number;
    categories: number;
    purposes: number;
    at: number;
  }

  interface ModelConsent {
    id: string;
    grantee: string;
    effect: Effect;
    categories: number;
    purposes: number;
    validFrom: number;
    validUntil: number;
    grantedAt: number;
    revokedAt: number;
  }

  const actionArb: fc.Arbitrary<Action> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record(
        {
          kind: fc.constant("grant" as const),
          grantee: fc.constantFrom(0, 1, 2, 3, 4, 4, 4),
          effect: fc.constantFrom(Effect.Permit, Effect.Permit, Effect.Deny),
          categories: fc.integer({ min: 1, max: 0b1111 }),
          purposes: fc.integer({ min: 1, max: 0b111 }),
          validFrom: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 2 }),
          validFor: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined, freq: 2 }),
        },
      ),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("revoke" as const), pick: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("role" as const), party: fc.integer({ min: 0, max: 3 }), member: fc.boolean() }),
    },
  );

  /** Mostly one bit, as most real questions are, so that random permits often cover them. */
  const maskArb = (bits: number) =>
    fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: bits - 1 }).map((b) => 1 << b) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: (1 << bits) - 1 }) });

  const questionArb: fc.Arbitrary<Question> = fc.record({
    requester: fc.constantFrom(0, 0, 1, 2, 3),
    categories: maskArb(4),
    purposes: maskArb(3),
    at: fc.integer({ min: -5, max: 130 }),
  });

  /** Membership changes per account, oldest first; before the first, the state at deployment. */
  function memberAt(changes: Map<string, Array<[number, boolean]>>, initial: Set<string>, account: string, at: number): boolean {
    let member = initial.has(account);
    for (const [time, value] of changes.get(account) ?? []) if (time <= at) member = value;
    return member;
  }

  function isActive(c: ModelConsent, at: number): boolean {
    return c.grantedAt <= at && (c.revokedAt === 0 || at < c.revokedAt) && c.validFrom <= at && (c.validUntil === 0 || at < c.validUntil);
  }

  /** The specification, in grant order: a matching deny decides; else the earliest covering permit, for an institution at `at`. */
  function modelDecide(consents: ModelConsent[], member: boolean, requester: string, q: Question, at: number): [bigint, string] {
    let permit: string | null = null;
    for (const c of consents) {
      if (!isActive(c, at) || (c.grantee !== requester && c.grantee !== ZeroAddress)) continue;
      if (c.effect === Effect.Deny) {
        if ((c.categories & q.categories) !== 0 && (c.purposes & q.purposes) !== 0) return [Decision.Deny, c.id];
      } else if (permit === null && member && (q.categories & ~c.categories) === 0 && (q.purposes & ~c.purposes) === 0) {
        permit = c.id;
      }
    }
    return permit === null ? [Decision.NoConsent, ZeroHash] : [Decision.Permit, permit];
  }

  it("for random histories and questions", async () => {
    const { accounts, chain } = fixture;
    const patient = accounts.patient;
    let runs = 0;
    const decided = { permit: 0, deny: 0, none: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb, { minLength: 3, maxLength: 12 }),
        fc.array(questionArb, { minLength: 6, maxLength: 12 }),
        async (actions, questions) => {
          runs++;
          const snapshot = await chain.snapshot();
          try {
            const base = (await chain.latestTimestamp()) + 10;
            const initial = new Set(parties.slice(0, 2));
            const changes = new Map<string, Array<[number, boolean]>>();
            const consents: ModelConsent[] = [];
            let nonce = BigInt(await registry.nonces(patient.address));

            for (const [i, action] of actions.entries()) {
              const time = base + 10 * i;
              await chain.setNextTimestamp(time);
              if (action.kind === "grant") {
                const grantee = action.grantee === 4 ? ZeroAddress : parties[action.grantee];
                const validFrom = action.validFrom === undefined ? 0 : base + action.validFrom;
                let validUntil = action.validFor === undefined ? 0 : Math.max(validFrom, base) + action.validFor;
                if (validUntil !== 0 && validUntil <= time) validUntil = 0;
                const terms: ConsentTerms = {
                  patient: patient.address,
                  grantee,
                  categories: BigInt(action.categories),
                  purposes: BigInt(action.purposes),
                  effect: action.effect,
                  validFrom: BigInt(validFrom),
                  validUntil: BigInt(validUntil),
                };
                if (grantee !== ZeroAddress && !memberAt(changes, initial, grantee, time)) {
                  await expectRevert(as(patient).grant(terms), registry, "GranteeNotInstitution", [grantee]);
                  await chain.mine(); // uses up the timestamp
                  continue;
                }
                await mined(as(patient).grant(terms));
                const consentId = (await registry.consentIdOf(terms, nonce++)) as string;
                consents.push({ id: consentId, grantee, effect: action.effect, categories: action.categories, purposes: action.purposes, validFrom, validUntil, grantedAt: time, revokedAt: 0 });
              } else if (action.kind === "revoke" && consents.length > 0) {
                const target = consents[action.pick % consents.length];
                if (target.revokedAt !== 0) {
                  await expectRevert(as(patient).revoke(target.id), registry, "ConsentAlreadyRevoked", [target.id, target.revokedAt]);
                  await chain.mine();
                  continue;
                }
                await mined(as(patient).revoke(target.id));
                target.revokedAt = time;
              } else if (action.kind === "role") {
                const account = parties[action.party];
                const registrar = as(accounts.registrar);
                await mined(action.member ? registrar.grantRole(INSTITUTION_ROLE, account) : registrar.revokeRole(INSTITUTION_ROLE, account));
                if (memberAt(changes, initial, account, time) !== action.member) {
                  changes.set(account, [...(changes.get(account) ?? []), [time, action.member]]);
                }
              } else {
                await chain.mine();
              }
            }

            const answers = await Promise.all(
              questions.map(async (q) => {
                const requester = parties[q.requester];
                const at = BigInt(base + q.at);
                const [decision, consentId] = await registry.decide(patient.address, requester, q.categories, q.purposes, at);
                const member = await registry.isInstitutionAt(requester, at);
                return { decision, consentId, member };
              }),
            );
            for (const [i, q] of questions.entries()) {
              const requester = parties[q.requester];
              const at = base + q.at;
              const member = memberAt(changes, initial, requester, at);
              const [decision, consentId] = modelDecide(consents, member, requester, q, at);
              expect({ question: q, ...answers[i] }).toEqual({ question: q, decision, consentId, member });
              if (decision === Decision.Permit) decided.permit++;
              else if (decision === Decision.Deny) decided.deny++;
              else decided.none++;
            }
          } finally {
            await chain.revert(snapshot);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(runs).toBe(60);
    // The generators reach every outcome, so the agreement is not vacuous.
    expect(decided.permit).toBeGreaterThan(15);
    expect(decided.deny).toBeGreaterThan(15);
    expect(decided.none).toBeGreaterThan(15);
  });
});
