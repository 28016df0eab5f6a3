import { Wallet } from "ethers";
import { sign as signJwt } from "jsonwebtoken";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

const LAB = 1 << 3;
const VITALS = 1 << 4;
const JWT_SECRET = "test-secret-test-secret-test-secret-0";

describe("consent lifecycle (real chain, real database)", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  const alice = walletOf("patient", 0);
  const bob = walletOf("patient", 1);
  const hospital = walletOf("institution", 0);
  const lab = walletOf("institution", 1);
  let hospitalAuth: Record<string, string>;
  let labAuth: Record<string, string>;
  let aliceAuth: Record<string, string>;
  let bobAuth: Record<string, string>;

  const relayerTxCount = () => chain.provider.getTransactionCount(demoAccount("relayer").address, "pending");
  const ask = (headers: Record<string, string>, body: Record<string, unknown>) =>
    service.request({ method: "POST", url: "/consent-decisions", headers, payload: { purpose: "TREAT", categories: LAB, ...body } });

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "100", AUTH_CHALLENGE_TTL_S: "1" } });
    client = consentClient(service, chain.provider, deployment);
    hospitalAuth = await client.signIn(hospital);
    labAuth = await client.signIn(lab);
    bobAuth = await client.signIn(bob);
    expect((await client.enrol(alice, hospitalAuth)).status).toBe(201);
    aliceAuth = await client.signIn(alice);
  });

  afterAll(() => service.close());

  describe("sign-in", () => {
    it("issues a token carrying the on-chain roles, and the patient role once enrolled", async () => {
      const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: hospital.address } });
      expect(challenge.body.message).toContain("wants you to sign in with your Ethereum account:\n" + hospital.address);
      expect(challenge.body.message).toContain(`Chain ID: ${deployment.chainId}`);
      const token = await service.request({
        method: "POST",
        url: "/auth/token",
        payload: { message: challenge.body.message, signature: await hospital.signMessage(challenge.body.message) },
      });
      expect(token.status).toBe(200);
      expect(token.body.roles).toEqual(["institution"]);
      const patientToken = await service.request({ method: "GET", url: "/consents", headers: aliceAuth });
      expect(patientToken.status).toBe(200);
    });

    it("rejects a signature by another account with 401", async () => {
      const { body } = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: hospital.address } });
      const res = await service.request({ method: "POST", url: "/auth/token", payload: { message: body.message, signature: await bob.signMessage(body.message) } });
      expect(res.status).toBe(401);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      expect(res.body.type).toBe("urn:consentry:problem:invalid-signature");
    });

    it("rejects a reused nonce with 401", async () => {
      const { body } = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: bob.address } });
      const payload = { message: body.message, signature: await bob.signMessage(body.message) };
      expect((await service.request({ method: "POST", url: "/auth/token", payload })).status).toBe(200);
      const again = await service.request({ method: "POST", url: "/auth/token", payload });
      expect(again.status).toBe(401);
      expect(again.body.type).toBe("urn:consentry:problem:invalid-nonce");
    });

    it("rejects an expired challenge with 401", async () => {
      const { body } = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: bob.address } });
      await new Promise((r) => setTimeout(r, 1_100));
      const res = await service.request({ method: "POST", url: "/auth/token", payload: { message: body.message, signature: await bob.signMessage(body.message) } });
      expect(res.status).toBe(401);
      expect(res.body.type).toBe("urn:consentry:problem:challenge-expired");
    });

    it("rejects a message whose text was altered after signing", async () => {
      const { body } = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: bob.address } });
      const altered = body.message.replace("Chain ID: 31337", "Chain ID: 1");
      const res = await service.request({ method: "POST", url: "/auth/token", payload: { message: altered, signature: await bob.signMessage(altered) } });
      expect(res.status).toBe(401);
      expect(res.body.type).toBe("urn:consentry:problem:invalid-sign-in-message");
    });

    it.each([
      ["no token", undefined, "missing-token"],
      ["a token signed with another secret", signJwt({ roles: ["regulator"] }, "another-secret-another-secret-00000", { subject: demoAccount("regulator").address, issuer: "consentry", audience: "x" }), "invalid-token"],
      ["an unsigned token (alg none)", signJwt({ roles: ["regulator"] }, "", { algorithm: "none", subject: demoAccount("regulator").address, issuer: "consentry" }), "invalid-token"],
      ["garbage", "not.a.token", "invalid-token"],
    ])("rejects %s with 401", async (_, token, slug) => {
      const res = await service.request({ method: "GET", url: "/consents", headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(res.status).toBe(401);
      expect(res.body.type).toBe(`urn:consentry:problem:${slug}`);
    });

    it("rejects an expired token with 401", async () => {
      const audience = `${deployment.chainId}:${deployment.contracts.ConsentRegistry.address.toLowerCase()}`;
      const expired = signJwt({ roles: ["institution"], exp: Math.floor(Date.now() / 1000) - 10 }, JWT_SECRET, { subject: hospital.address, issuer: "consentry", audience });
      const res = await service.request({ method: "GET", url: "/consents", headers: { authorization: `Bearer ${expired}` } });
      expect(res.status).toBe(401);
      expect(res.body.type).toBe("urn:consentry:problem:token-expired");
    });
  });

  describe("enrolment", () => {
    it("rejects an enrolment not signed by the patient", async () => {
      const forged = Wallet.createRandom();
      const res = await client.enrol(new Wallet(forged.privateKey), hospitalAuth);
      expect(res.status).toBe(201); // a random wallet signing for itself is a valid patient
      const info = await service.request({ method: "GET", url: "/.well-known/consentry" });
      expect(info.status).toBe(200);
      const bad = await service.request({
        method: "POST",
        url: "/patients/enrol",
        headers: hospitalAuth,
        payload: { patient: bob.address, identifiers: [{ system: "s", value: "v" }], deadline: client.now() + 60, signature: "0x" + "11".repeat(65) },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.type).toBe("urn:consentry:problem:invalid-signature");
    });

    it("refuses enrolment by an account without the institution role", async () => {
      const res = await client.enrol(bob, bobAuth, bob);
      expect(res.status).toBe(403);
      expect(res.body.type).toBe("urn:consentry:problem:role-required");
    });
  });

  describe("grant → permit → revoke → no longer permitted", () => {
    it("relays a wallet-signed grant, then decides permit for the grantee only", async () => {
      const signed = await client.signGrant(alice, client.terms(alice));
      const res = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: "active", consent: { status: "active", effect: "permit", categoryCodes: ["laboratory"] } });
      const consentId = res.body.consentId;
      expect(consentId).toBe(await client.registry.consentIdOf(signed.terms, signed.nonce));

      const permit = await ask(hospitalAuth, { patient: alice.address });
      expect(permit.body).toMatchObject({ decision: "permit", consentId });
      expect((await ask(labAuth, { patient: alice.address })).body).toMatchObject({ decision: "no-consent", consentId: null });
      expect((await ask(hospitalAuth, { patient: alice.address, categories: LAB | VITALS })).body.decision).toBe("no-consent");

      const got = await service.request({ method: "GET", url: `/consents/${consentId}`, headers: hospitalAuth });
      expect(got.body).toMatchObject({ consentId, status: "active" });
      const hidden = await service.request({ method: "GET", url: `/consents/${consentId}`, headers: labAuth });
      expect(hidden.status).toBe(404);

      const revoke = await client.signRevoke(alice, consentId);
      const revoked = await service.request({ method: "POST", url: `/consents/${consentId}/revoke`, headers: aliceAuth, payload: { ...revoke, wait: true } });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ status: "revoked", consent: { status: "revoked" } });
      expect((await ask(hospitalAuth, { patient: alice.address })).body.decision).toBe("no-consent");
    });

    it("decides deny when a deny consent overlaps, over a wildcard permit", async () => {
      const permitAll = await client.signGrant(alice, client.terms(alice, { grantee: client.ZeroAddress, categories: LAB | VITALS }));
      expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...permitAll, wait: true } })).status).toBe(201);
      expect((await ask(labAuth, { patient: alice.address, categories: VITALS })).body.decision).toBe("permit");
      const deny = await client.signGrant(alice, client.terms(alice, { grantee: lab.address, categories: VITALS, effect: 1 }));
      const denied = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...deny, wait: true } });
      expect((await ask(labAuth, { patient: alice.address, categories: VITALS })).body).toMatchObject({ decision: "deny", consentId: denied.body.consentId });
      expect((await ask(hospitalAuth, { patient: alice.address, categories: VITALS })).body.decision).toBe("permit");
    });

    it("shows consents as FHIR R4 Consent resources", async () => {
      const res = await service.request({ method: "GET", url: `/fhir/Consent?patient=${alice.address}`, headers: aliceAuth });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/application\/fhir\+json/);
      expect(res.body).toMatchObject({ resourceType: "Bundle", type: "searchset" });
      expect(res.body.total).toBeGreaterThanOrEqual(3);
      const consent = res.body.entry[0].resource;
      expect(consent).toMatchObject({
        resourceType: "Consent",
        scope: { coding: [{ code: "patient-privacy" }] },
        patient: { identifier: { value: `did:pkh:eip155:31337:${alice.address}` } },
        provision: { type: "permit", purpose: [{ code: "TREAT" }] },
      });
      // provision.class: the category, and FHIR resource types only where the consent covers the whole type.
      expect(consent.provision.class).toContainEqual({ system: "urn:consentry:category", code: "laboratory" });
      expect(consent.provision.class).not.toContainEqual({ system: "http://hl7.org/fhir/resource-types", code: "Observation" });
      expect(consent.id).toMatch(/^[0-9a-f]{64}$/);
      expect(["active", "inactive"]).toContain(consent.status);
    });

    it("answers the LEAP CDS Hooks consent consult", async () => {
      const discovery = await service.request({ method: "GET", url: "/cds-services" });
      expect(discovery.body.services[0]).toMatchObject({ id: "patient-consent-consult", hook: "patient-consent-consult" });
      const res = await service.request({
        method: "POST",
        url: "/cds-services/patient-consent-consult",
        headers: hospitalAuth,
        payload: {
          hook: "patient-consent-consult",
          hookInstance: "0d1c3c2e-1",
          context: {
            patientId: [{ system: "urn:oid:2.16.840.1.113883.19.5", value: `MRN-${alice.address.slice(2, 8)}` }],
            actor: [{ value: hospital.address }],
            purposeOfUse: ["TREAT"],
            class: [{ system: "urn:consentry:category", code: "vital-signs" }],
          },
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.cards[0]).toMatchObject({ summary: "CONSENT_PERMIT", extension: { decision: "CONSENT_PERMIT" } });
      expect(res.body.cards[0].extension.basedOn).toMatch(/^https?:\/\/[^/]+\/fhir\/Consent\/[0-9a-f]{64}$/);
      // Another institution cannot use the hospital's identifiers to find (or probe for) the patient.
      const probe = await service.request({
        method: "POST",
        url: "/cds-services/patient-consent-consult",
        headers: labAuth,
        payload: { hook: "patient-consent-consult", hookInstance: "x", context: { patientId: [{ system: "urn:oid:2.16.840.1.113883.19.5", value: `MRN-${alice.address.slice(2, 8)}` }], actor: [{ value: lab.address }] } },
      });
      // As HL7 LEAP answers a patient it cannot find: no consent applies (and nothing says whether the patient exists).
      expect([probe.status, probe.body.cards[0].summary]).toEqual([200, "NO_CONSENT"]);
    });

    it("treats an address with a wrong checksum as an address, not a crash", async () => {
      const mangled = "0x" + alice.address.slice(2).split("").map((c, i) => (i === 3 ? (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) : c)).join("");
      const res = await ask(hospitalAuth, { patient: mangled.replace(/[a-f]/, (c) => c.toUpperCase()) });
      expect(res.status).toBe(200);
    });
  });

  describe("bad input: a 4xx problem and nothing sent on chain", () => {
    let before: number;
    beforeEach(async () => {
      before = await relayerTxCount();
    });
    afterEach(async () => {
      expect(await relayerTxCount()).toBe(before);
    });

    const grant = async (payload: unknown, headers = aliceAuth) => service.request({ method: "POST", url: "/consents", headers, payload });

    it.each([
      ["unknown category bits", { categories: 1 << 12 }, 400, "invalid-categories"],
      ["no category", { categories: 0 }, 400, "invalid-categories"],
      ["unknown purpose bits", { purposes: 1 << 7 }, 400, "invalid-purposes"],
      ["validUntil before validFrom", { validFrom: 2_000_000_000, validUntil: 1_900_000_000 }, 400, "invalid-validity"],
      ["a grantee without the institution role", { grantee: demoAccount("patient", 1).address }, 400, "grantee-not-institution"],
    ])("refuses %s", async (_, overrides, status, slug) => {
      const signed = await client.signGrant(alice, client.terms(alice, overrides));
      const res = await grant(signed);
      expect(res.status).toBe(status);
      expect(res.body.type).toBe(`urn:consentry:problem:${slug}`);
    });

    it("refuses a signature by another key", async () => {
      const signed = await client.signGrant(bob, client.terms(alice), await client.nonceOf(alice.address));
      const res = await grant(signed);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe("urn:consentry:problem:invalid-signature");
    });

    it("refuses a malformed signature", async () => {
      const signed = await client.signGrant(alice, client.terms(alice));
      const res = await grant({ ...signed, signature: "0xzz" });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe("urn:consentry:problem:validation-failed");
      const short = await grant({ ...signed, signature: "0x1234" });
      expect(short.body.type).toBe("urn:consentry:problem:invalid-signature");
    });

    it("refuses an expired deadline", async () => {
      const signed = await client.signGrant(alice, client.terms(alice), undefined, client.now() - 5);
      const res = await grant(signed);
      expect(res.body.type).toBe("urn:consentry:problem:signature-expired");
    });

    it("refuses a reused nonce", async () => {
      const current = BigInt(await client.nonceOf(alice.address));
      const signed = await client.signGrant(alice, client.terms(alice), (current - 1n).toString());
      const res = await grant(signed);
      expect(res.status).toBe(409);
      expect(res.body.type).toBe("urn:consentry:problem:nonce-used");
    });

    it("refuses a patient who is not enrolled", async () => {
      const signed = await client.signGrant(bob, client.terms(bob));
      const res = await grant(signed, bobAuth);
      expect(res.body.type).toBe("urn:consentry:problem:patient-not-enrolled");
    });

    it("refuses someone else's grant relayed by a patient", async () => {
      const signed = await client.signGrant(alice, client.terms(alice));
      const res = await grant(signed, bobAuth);
      expect(res.status).toBe(403);
      expect(res.body.type).toBe("urn:consentry:problem:not-consent-patient");
    });

    it("refuses a revocation of someone else's consent", async () => {
      const listed = await service.request({ method: "GET", url: `/consents?patient=${alice.address}`, headers: hospitalAuth });
      const consent = listed.body.find((c: { status: string }) => c.status === "active");
      const bobSigned = await client.signRevoke(bob, consent.consentId);
      const viaHospital = await service.request({ method: "POST", url: `/consents/${consent.consentId}/revoke`, headers: hospitalAuth, payload: bobSigned });
      expect(viaHospital.status).toBe(400);
      expect(viaHospital.body.type).toBe("urn:consentry:problem:invalid-signature");
      const asBob = await service.request({ method: "POST", url: `/consents/${consent.consentId}/revoke`, headers: bobAuth, payload: bobSigned });
      expect(asBob.status).toBe(404);
    });

    it("refuses malformed bodies with a validation problem listing the fields", async () => {
      const res = await grant({ terms: { patient: "nope" }, nonce: "x", deadline: "soon", signature: 5 });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe("urn:consentry:problem:validation-failed");
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(["terms.patient", "nonce", "deadline", "signature"]));
    });
  });

  describe("the access trail", () => {
    it("records each decision, grant and revocation, and each refused attempt", async () => {
      const hospitalTrail = await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: hospitalAuth });
      expect(hospitalTrail.status).toBe(200);
      const decisions = hospitalTrail.body.events.filter((e: { action: string }) => e.action === "consent.decision");
      expect(decisions.length).toBeGreaterThan(3);
      expect(decisions.every((e: { actor: string }) => e.actor === hospital.address.toLowerCase())).toBe(true);
      expect(decisions.map((e: { decision: string }) => e.decision)).toEqual(expect.arrayContaining(["permit", "no-consent"]));

      const aliceTrail = await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: aliceAuth });
      const actions = aliceTrail.body.events.map((e: { action: string; decision: string }) => `${e.action}:${e.decision}`);
      expect(actions).toEqual(expect.arrayContaining(["consent.grant:recorded", "consent.revoke:recorded", "consent.grant:rejected", "consent.decision:permit"]));
      expect(aliceTrail.body.events.every((e: { patient: string }) => e.patient === alice.address.toLowerCase())).toBe(true);

      const labSeesOthers = await service.request({ method: "GET", url: `/audit/events?actor=${hospital.address}`, headers: labAuth });
      expect(labSeesOthers.status).toBe(403);
    });
  });

  describe("the chain as the source of truth", () => {
    it("projects a grant made directly on chain by the patient, and a direct revocation within one poll", async () => {
      const registry = client.registry.connect(alice.connect(chain.provider)) as typeof client.registry;
      const terms = client.terms(alice, { grantee: lab.address, categories: 1 << 7 });
      const receipt = await (await registry.grant(terms)).wait();
      const consentId = registry.interface.parseLog(receipt.logs[0])!.args.consentId as string;
      const seen = await waitFor(async () => (await service.request({ method: "GET", url: `/consents/${consentId}`, headers: labAuth })).status === 200);
      expect(seen).toBe(true);
      expect((await ask(labAuth, { patient: alice.address, categories: 1 << 7 })).body.decision).toBe("permit");

      const revokedAt = Date.now();
      await (await registry.revoke(consentId)).wait();
      const changed = await waitFor(async () => (await ask(labAuth, { patient: alice.address, categories: 1 << 7 })).body.decision !== "permit");
      expect(changed).toBe(true);
      expect(Date.now() - revokedAt).toBeLessThan(1_000 + 500);
    });

    it("rolls the projection back when the chain reorganises", async () => {
      const snapshot = await chain.snapshot();
      const registry = client.registry.connect(alice.connect(chain.provider)) as typeof client.registry;
      const receipt = await (await registry.grant(client.terms(alice, { categories: 1 << 8 }))).wait();
      const consentId = registry.interface.parseLog(receipt.logs[0])!.args.consentId as string;
      expect(await waitFor(async () => (await service.request({ method: "GET", url: `/consents/${consentId}`, headers: aliceAuth })).status === 200)).toBe(true);

      await chain.revert(snapshot);
      await chain.mine(3);
      expect(await waitFor(async () => (await service.request({ method: "GET", url: `/consents/${consentId}`, headers: aliceAuth })).status === 404)).toBe(true);
      // Right after a rollback the projection may briefly answer 503 (fail closed) until it has caught up again.
      expect(await waitFor(async () => (await ask(hospitalAuth, { patient: alice.address, categories: 1 << 8 })).body.decision === "no-consent")).toBe(true);
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
