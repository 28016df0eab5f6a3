import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ZeroAddress } from "ethers";
import { bits, CAT, PURPOSE, startTrailWorld, writeTrail, type DraftEvent, type FixtureConsent, type TrailWorld } from "../support/trail-fixture";
import { readLines, runVerifyCli, tempDir, verifyInProcess } from "./helpers";
import { READY_TIMEOUT_MS } from "../support/ready";

/**
 * Permits checked against the chain: each scenario anchors a short trail in which chosen events claim a
 * permit under a real consent at a chosen moment, and the verifier must say exactly why it was not covered.
 */
describe("verify: every permit against the consent active at that moment", () => {
  let dir: string;
  let world: TrailWorld;
  let hospital: string;
  let lab: string;
  let trails = 0;

  beforeAll(async () => {
    dir = tempDir();
    world = await startTrailWorld(dir, 4);
    [hospital, lab] = world.institutions;
  }, READY_TIMEOUT_MS);

  afterAll(async () => {
    await world?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ZERO_HASH = "0x" + "00".repeat(32);

  /** A permit under `c` by its grantee, for exactly its terms, at unix second `at` (plus `ms`). */
  const permitUnder = (c: FixtureConsent, at: number, ms = 0): Partial<DraftEvent> => ({
    actor: c.grantee === ZeroAddress ? hospital : c.grantee,
    patient: c.patient,
    action: 1,
    categories: c.categories,
    purposes: c.purposes,
    decision: 1,
    consentId: c.id,
    time: at * 1000 + ms,
  });

  /** Writes and anchors a 12-event trail whose events at the given indexes are replaced; returns the file and their seqs. */
  async function trailWith(events: Record<number, Partial<DraftEvent>>) {
    const file = join(dir, `scenario-${++trails}.ndjson`);
    const summary = await writeTrail(world, file, {
      events: 12,
      batchSize: 6,
      breakGlassRate: 0,
      override: (index) => events[index],
    });
    const idOf = (index: number) => readLines(file).find((l) => l.kind === "event" && l.seq === summary.firstSeq + index)!.id as string;
    return { file, summary, seqOf: (index: number) => summary.firstSeq + index, idOf };
  }

  async function expectFailure(events: Record<number, Partial<DraftEvent>>, reason: string, atIndex: number, window?: number) {
    const { file, seqOf, idOf } = await trailWith(events);
    const result = await verifyInProcess(world, file, { window });
    expect(result.firstFailure).toMatchObject({ reason, seq: seqOf(atIndex), id: idOf(atIndex) });
    return result.firstFailure!;
  }

  it("accepts permits under the fixture's consents, including any-institution consents", async () => {
    const wildcard = world.permitPool.find((c) => c.grantee === ZeroAddress)!;
    const { file } = await trailWith({ 2: permitUnder(wildcard, wildcard.grantedAt + 5), 3: { ...permitUnder(wildcard, wildcard.grantedAt + 6), actor: lab } });
    const result = await verifyInProcess(world, file);
    expect(result.firstFailure).toBeNull();
    expect(result.checked.permits).toBeGreaterThanOrEqual(2);
  });

  it("accepts a permit before its consent's revocation and refuses one at the revocation second: consent-revoked", async () => {
    const consent = await world.grant(world.patients[0], { grantee: hospital, categories: bits(CAT.conditions), purposes: bits(PURPOSE.TREAT) });
    await world.increaseTime(60);
    const revokedAt = await world.revoke(world.patients[0], consent.id);
    // One trail: the first permit is covered; the second, at revokedAt.000, is not (active means t < revokedAt).
    const f = await expectFailure({ 3: permitUnder(consent, consent.grantedAt + 30), 5: permitUnder(consent, revokedAt - 1, 999), 8: permitUnder(consent, revokedAt) }, "consent-revoked", 8);
    expect(f.detail).toContain(`revoked at ${revokedAt}`);
  });

  it("refuses a permit before its consent was granted, and after it expired: consent-not-active", async () => {
    const now = await world.chainTime();
    const consent = await world.grant(world.patients[1], { grantee: lab, categories: bits(CAT.lab), purposes: bits(PURPOSE.HRESCH), validUntil: now + 100 });
    await expectFailure({ 4: permitUnder(consent, consent.grantedAt - 1) }, "consent-not-active", 4);
    const f = await expectFailure({ 4: permitUnder(consent, consent.grantedAt + 1), 6: permitUnder(consent, now + 100) }, "consent-not-active", 6);
    expect(f.detail).toContain("expired");
  });

  it("refuses a permit that a later deny consent overrides, as decide() on chain says: consent-denied", async () => {
    const patient = world.patients[2];
    const permit = await world.grant(patient, { grantee: lab, categories: bits(CAT.conditions), purposes: bits(PURPOSE.TREAT) });
    await world.increaseTime(60);
    const deny = await world.grant(patient, { grantee: lab, categories: bits(CAT.conditions, CAT.encounters), purposes: bits(PURPOSE.TREAT, PURPOSE.HOPERAT), effect: 1 });
    // Before the deny the same question is a permit: the decision cache must not carry it across.
    const f = await expectFailure({ 2: permitUnder(permit, permit.grantedAt + 10), 7: permitUnder(permit, deny.grantedAt + 1) }, "consent-denied", 7);
    expect(f.detail).toContain(deny.id);
  });

  it("refuses a permit naming no consent or one the chain does not have: consent-missing", async () => {
    const base = world.permitPool[0];
    await expectFailure({ 5: { ...permitUnder(base, base.grantedAt + 5), consentId: "0x" + "00".repeat(32) } }, "consent-missing", 5);
    await expectFailure({ 5: { ...permitUnder(base, base.grantedAt + 5), consentId: "0x" + "ab".repeat(32) } }, "consent-missing", 5);
  });

  it("refuses a permit its consent does not cover: consent-mismatch", async () => {
    const [mine, other] = world.permitPool.filter((c) => c.grantee !== ZeroAddress);
    const wildcard = world.permitPool.find((c) => c.grantee === ZeroAddress)!;
    const at = mine.grantedAt + 5;
    // Another patient's data under this patient's consent.
    await expectFailure({ 1: { ...permitUnder(mine, at), patient: other.patient } }, "consent-mismatch", 1);
    // A category the consent does not grant.
    await expectFailure({ 1: { ...permitUnder(mine, at), categories: mine.categories | bits(CAT.imaging) } }, "consent-mismatch", 1);
    // A purpose the consent does not grant.
    await expectFailure({ 1: { ...permitUnder(mine, at), purposes: bits(PURPOSE.HPAYMT) } }, "consent-mismatch", 1);
    // Another institution than the grantee.
    await expectFailure({ 1: { ...permitUnder(mine, at), actor: mine.grantee === hospital ? lab : hospital } }, "consent-mismatch", 1);
    // An any-institution consent used by someone who is not an institution.
    const f = await expectFailure({ 1: { ...permitUnder(wildcard, at), actor: world.patients[3].address } }, "consent-mismatch", 1);
    expect(f.detail).toContain("not one");
  });

  it("lists break-glass with ETREAT and refuses break-glass without it: break-glass-without-etreat", async () => {
    const patient = world.patients[0].address;
    const glass = (purposes: bigint): Partial<DraftEvent> => ({ actor: hospital, patient, action: 1, decision: 4, categories: bits(CAT.medications), purposes, consentId: "0x" + "00".repeat(32) });
    const ok = await trailWith({ 4: glass(bits(PURPOSE.ETREAT, PURPOSE.TREAT)) });
    const result = await verifyInProcess(world, ok.file);
    expect(result.firstFailure).toBeNull();
    const listed = [];
    for await (const entry of result.breakGlass.entries()) listed.push(JSON.parse(entry));
    expect(listed).toEqual([expect.objectContaining({ seq: ok.seqOf(4), actor: hospital.toLowerCase(), patient: patient.toLowerCase() })]);
    await expectFailure({ 4: glass(bits(PURPOSE.TREAT)) }, "break-glass-without-etreat", 4);
  });

  it("accepts a consult: custodian A asks whether institution B may receive, under B's consent (exit 0); recorded with A as requester it fails: consent-mismatch", async () => {
    const patient = world.patients[1];
    const toLab = await world.grant(patient, { grantee: lab, categories: bits(CAT.conditions), purposes: bits(PURPOSE.TREAT) });
    const consult = (requester: string): Partial<DraftEvent> => ({ ...permitUnder(toLab, toLab.grantedAt + 5), actor: hospital, requester, action: 4 });

    const ok = await trailWith({ 5: consult(lab) });
    const line = readLines(ok.file).find((l) => l.seq === ok.seqOf(5))!;
    expect(line).toMatchObject({ format: 2, actor: hospital, requester: lab, decision: 1 });
    const report = join(dir, "consult.json");
    const run = await runVerifyCli(["--export", ok.file, "--rpc", world.url, "--deployment", world.deploymentFile, "--report", report]);
    expect(run.stdout).toContain("PASSED");
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).checked.permits).toBe(ok.summary.permits);

    // The same consult with the custodian as requester: the hospital holds no consent for conditions.
    const swapped = await trailWith({ 5: consult(hospital) });
    const f = (await verifyInProcess(world, swapped.file)).firstFailure;
    expect(f).toMatchObject({ reason: "consent-mismatch", seq: swapped.seqOf(5), id: swapped.idOf(5) });
    expect(f!.detail).toContain(`not to the requester ${hospital.toLowerCase()}`);
  });

  it("reports the first failure in seq order when consecutive permits fail the same way, however many checks are in flight", async () => {
    const [mine, other] = world.permitPool.filter((c) => c.grantee !== ZeroAddress);
    const stolen = (ms: number): Partial<DraftEvent> => ({ ...permitUnder(mine, mine.grantedAt + 5, ms), patient: other.patient });
    // A window of 2 settles checks while later ones are in flight: the old verifier then named index 7.
    for (const window of [2, 3, undefined]) await expectFailure({ 6: stolen(0), 7: stolen(1) }, "consent-mismatch", 6, window);
  });

  it("accepts a deny that is the chain's decision, asked directly or by a custodian on the requester's behalf", async () => {
    const deny = world.denyPool[0];
    const denied = (actor: string, at: number): Partial<DraftEvent> => ({
      actor,
      requester: deny.grantee,
      patient: deny.patient,
      action: 4,
      categories: deny.categories,
      purposes: deny.purposes,
      decision: 2,
      consentId: deny.id,
      time: at * 1000,
    });
    const { file } = await trailWith({ 2: denied(deny.grantee, deny.grantedAt + 3), 4: denied(hospital, deny.grantedAt + 4), 6: { ...denied(deny.grantee, deny.grantedAt + 5), consentId: ZERO_HASH } });
    const result = await verifyInProcess(world, file);
    expect(result.firstFailure).toBeNull();
    expect(result.checked.denies).toBeGreaterThanOrEqual(3);
  });

  it("refuses a deny the chain does not decide, or under another consent than the chain's: deny-mismatch", async () => {
    const deny = world.denyPool[0];
    const denied: Partial<DraftEvent> = { actor: deny.grantee, patient: deny.patient, action: 1, categories: deny.categories, purposes: deny.purposes, decision: 2, consentId: deny.id, time: (deny.grantedAt + 5) * 1000 };
    // Nobody denied the hospital: the chain decides no-consent for it.
    const f = await expectFailure({ 3: { ...denied, actor: hospital } }, "deny-mismatch", 3);
    expect(f.detail).toContain("no-consent");
    // The patient's permit consent named as the deciding one.
    const permit = world.permitPool.find((c) => c.patient === deny.patient && c.grantee !== ZeroAddress)!;
    const g = await expectFailure({ 3: { ...denied, consentId: permit.id } }, "deny-mismatch", 3);
    expect(g.detail).toContain(deny.id);
    // Before the deny consent existed.
    const later = await world.grant(world.patients[3], { grantee: hospital, categories: bits(CAT.encounters), purposes: bits(PURPOSE.HPAYMT), effect: 1 });
    await expectFailure({ 3: { ...denied, actor: hospital, patient: later.patient, categories: later.categories, purposes: later.purposes, consentId: later.id, time: (later.grantedAt - 1) * 1000 } }, "deny-mismatch", 3);
    // A question decide() refuses to answer (no category) is no deny either, and does not stop verification.
    await expectFailure({ 3: { ...denied, categories: 0n } }, "deny-mismatch", 3);
    await expectFailure({ 3: { ...denied, categories: 1n << 200n } }, "deny-mismatch", 3);
  });

  it("checks no consent for an event without a patient", async () => {
    const { file } = await trailWith({ 4: { actor: hospital, patient: ZeroAddress, action: 2, categories: 0n, purposes: 0n, decision: 1, consentId: ZERO_HASH } });
    const result = await verifyInProcess(world, file);
    expect(result.firstFailure).toBeNull();
  });
});
