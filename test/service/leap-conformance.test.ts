import type { Deployment } from "../../service/chain/deployment";
import { definitionIssues } from "../../service/records/fhir-definitions";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

/**
 * HL7 LEAP consent decision service parity (github.com/HL7/leap-cds, the sdhealthconnect/leap-cds code it
 * comes from): discovery (schemas/service-definitions.json), the patient-consent-consult request
 * (schemas/patient-consent-consult-hook-request.schema.json: `context` with no additional properties,
 * `patientId` and `actor` required, identifiers `{system?, value}`, codings `{system, code}`), the response
 * (schemas/patient-consent-consult-hook-response.schema.json and lib/consent-decision-card.js: one card,
 * summary = extension.decision, indicator info / critical / warning, `obligations`, `basedOn` the full URL of
 * the deciding Consent), partial coverage as CONSENT_PERMIT with REDACT obligations (lib/consent-valuesets.js
 * CONSENT_OBLIGATIONS), NO_CONSENT for a patient nobody finds (lib/consent-discovery.js), and errors as
 * `{httpCode, error, errorMessage}` (lib/validators.js, controllers/error.js). Every consult is one access event.
 */

const RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
const CATEGORY = "urn:consentry:category";
const REDACT = { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "REDACT" };
const CONDITIONS = 1 << 2;
const IMMUNIZATIONS = 1 << 7;
const MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5";

describe("HL7 LEAP patient-consent-consult conformance", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  const alice = walletOf("patient", 0);
  const bob = walletOf("patient", 1);
  const hospitalWallet = walletOf("institution", 0);
  const labWallet = walletOf("institution", 1);
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let regulator: Record<string, string>;
  let permitId: string;
  let denyId: string;
  let lastSeq = 0;
  const aliceMrn = `MRN-${alice.address.slice(2, 8)}`;

  const did = (address: string) => `did:pkh:eip155:${deployment.chainId}:${address}`;
  const consult = (headers: Record<string, string>, context: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    service.request({ method: "POST", url: "/cds-services/patient-consent-consult", headers, payload: { hook: "patient-consent-consult", hookInstance: "3f8e1c2a-leap", context, ...extra } });
  const labAsks = (context: Record<string, unknown>) => consult(lab, { patientId: [{ system: "urn:ietf:rfc:3986", value: did(alice.address) }], actor: [{ system: "urn:ietf:rfc:3986", value: did(labWallet.address) }], purposeOfUse: ["TREAT"], ...context });

  /** Events recorded since the last call, as the regulator reads the trail. */
  const newEvents = async () => {
    const res = await service.request({ method: "GET", url: `/audit/events?limit=1000&after=${lastSeq}`, headers: regulator });
    const events = res.body.events as Array<{ seq: number; action: string; decision: string; actor: string; requester: string; patient: string | null; categories: string[]; consentId: string | null }>;
    if (events.length) lastSeq = events[events.length - 1].seq;
    return events;
  };

  /** A LEAP card, checked against LEAP's response schema and card templates. */
  const card = (res: { status: number; body: any }) => {
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["cards"]);
    expect(res.body.cards).toHaveLength(1);
    const c = res.body.cards[0];
    expect(c).toEqual({
      summary: c.extension.decision,
      detail: expect.any(String),
      indicator: { CONSENT_PERMIT: "info", CONSENT_DENY: "critical", NO_CONSENT: "warning" }[c.extension.decision as string],
      source: { label: expect.any(String), url: expect.stringMatching(/^https?:\/\//) },
      extension: { decision: expect.stringMatching(/^(CONSENT_PERMIT|CONSENT_DENY|NO_CONSENT)$/), obligations: expect.any(Array), ...(c.extension.basedOn ? { basedOn: expect.any(String) } : {}) },
    });
    return c;
  };

  /** A LEAP error: {httpCode, error, errorMessage}, application/json, no problem details. */
  const leapError = (res: { status: number; headers: Record<string, unknown>; body: any }, status: number, message?: RegExp) => {
    expect([res.status, String(res.headers["content-type"])]).toEqual([status, expect.stringMatching(/^application\/json/)]);
    expect(res.body).toEqual({ httpCode: status, error: expect.any(String), errorMessage: message ? expect.stringMatching(message) : expect.any(String) });
  };

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "100" } });
    client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(hospitalWallet);
    lab = await client.signIn(labWallet);
    regulator = await client.signIn(walletOf("regulator", 0));
    expect((await client.enrol(alice, hospital, hospitalWallet, [{ system: MRN_SYSTEM, value: aliceMrn }])).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const grant = async (categories: number, effect: number) => {
      const signed = await client.signGrant(alice, client.terms(alice, { grantee: labWallet.address, categories, effect }));
      const res = await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } });
      expect(res.status).toBe(201);
      return res.body.consentId as string;
    };
    permitId = await grant(CONDITIONS, 0);
    denyId = await grant(IMMUNIZATIONS, 1);
    await newEvents();
  });

  afterAll(() => service?.close());

  it("publishes the service at discovery as LEAP does (id, hook, title, description)", async () => {
    const res = await service.request({ method: "GET", url: "/cds-services" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ services: [{ id: "patient-consent-consult", hook: "patient-consent-consult", title: expect.any(String), description: expect.any(String) }] });
  });

  it("permits a consented class named by FHIR resource type, based on the consent's absolute URL", async () => {
    const c = card(await labAsks({ class: [{ system: RESOURCE_TYPES, code: "Condition" }] }));
    expect(c.extension).toMatchObject({ decision: "CONSENT_PERMIT", obligations: [] });
    expect(c.extension.basedOn).toMatch(new RegExp(`^https?://[^/]+/fhir/Consent/${permitId.slice(2)}$`));
    // basedOn resolves: the Consent as this service's FHIR API serves it.
    const consent = await service.request({ method: "GET", url: new URL(c.extension.basedOn).pathname, headers: lab });
    expect(consent.status).toBe(200);
    expect(consent.body).toMatchObject({ resourceType: "Consent", id: permitId.slice(2), provision: { type: "permit" } });
    // provision.class: FHIR resource types (the extensible binding) the consent covers whole, then the category.
    expect(consent.body.provision.class).toEqual(expect.arrayContaining([{ system: RESOURCE_TYPES, code: "Condition" }, { system: CATEGORY, code: "conditions" }]));
    expect(consent.body.provision.class).not.toContainEqual({ system: RESOURCE_TYPES, code: "Observation" });
    expect(definitionIssues(consent.body)).toEqual([]);
    expect(await newEvents()).toEqual([expect.objectContaining({ action: "consent.decision", decision: "permit", consentId: permitId, categories: ["conditions"] })]);
  });

  it("permits the same class named by the service's own category code", async () => {
    expect(card(await labAsks({ class: [{ system: CATEGORY, code: "conditions" }] })).extension.decision).toBe("CONSENT_PERMIT");
    expect(await newEvents()).toHaveLength(1);
  });

  it("denies a class a deny consent covers", async () => {
    const c = card(await labAsks({ class: [{ system: RESOURCE_TYPES, code: "Immunization" }] }));
    expect(c.extension).toMatchObject({ decision: "CONSENT_DENY", obligations: [] });
    expect(c.extension.basedOn).toMatch(new RegExp(`/fhir/Consent/${denyId.slice(2)}$`));
    expect(await newEvents()).toEqual([expect.objectContaining({ decision: "deny", consentId: denyId })]);
  });

  it("answers NO_CONSENT for a class no consent covers, without basedOn", async () => {
    const c = card(await labAsks({ class: [{ system: RESOURCE_TYPES, code: "Procedure" }] }));
    expect(c.extension).toEqual({ decision: "NO_CONSENT", obligations: [] });
    expect(await newEvents()).toEqual([expect.objectContaining({ decision: "no-consent", consentId: null })]);
  });

  it("permits a question covering a consented and an unconsented class, with REDACT naming what to withhold", async () => {
    const c = card(await labAsks({ class: [{ system: RESOURCE_TYPES, code: "Condition" }, { system: RESOURCE_TYPES, code: "MedicationRequest" }] }));
    expect(c.extension.decision).toBe("CONSENT_PERMIT");
    expect(c.extension.basedOn).toMatch(new RegExp(`/fhir/Consent/${permitId.slice(2)}$`));
    expect(c.extension.obligations).toEqual([{ id: REDACT, parameters: { codes: [{ system: RESOURCE_TYPES, code: "MedicationRequest" }, { system: CATEGORY, code: "medications" }] } }]);
    // The trail records what was released, under the consent that permits it: what the chain itself decides.
    const [event] = await newEvents();
    expect(event).toEqual(expect.objectContaining({ decision: "permit", consentId: permitId, categories: ["conditions"] }));
    const [onChain, decidedBy] = await client.registry.decide(alice.address, labWallet.address, CONDITIONS, 1, Math.floor(Date.parse((event as unknown as { time: string }).time) / 1000));
    expect([Number(onChain), decidedBy]).toEqual([1, permitId]);
  });

  it("withholds a denied class beside a permitted one, and a class no consent can cover", async () => {
    const c = card(await labAsks({ class: [{ system: CATEGORY, code: "conditions" }, { system: CATEGORY, code: "immunizations" }, { system: "http://example.org/classes", code: "psychotherapy-notes" }] }));
    expect(c.extension.decision).toBe("CONSENT_PERMIT");
    expect(c.extension.obligations).toEqual([
      { id: REDACT, parameters: { codes: [{ system: "http://example.org/classes", code: "psychotherapy-notes" }, { system: CATEGORY, code: "immunizations" }] } },
    ]);
    expect(await newEvents()).toHaveLength(1);
  });

  it("asked about every class (no class), permits what is consented and redacts the rest", async () => {
    const c = card(await labAsks({}));
    expect(c.extension.decision).toBe("CONSENT_PERMIT");
    const codes = c.extension.obligations[0].parameters.codes as Array<{ system: string; code: string }>;
    expect(codes.filter((x) => x.system === CATEGORY).map((x) => x.code)).not.toContain("conditions");
    expect(codes).toContainEqual({ system: CATEGORY, code: "immunizations" });
    expect(await newEvents()).toHaveLength(1);
  });

  describe("patients by identifier and by did:pkh", () => {
    it("finds the patient by the identifier the calling custodian enrolled them with", async () => {
      const c = card(await consult(hospital, { patientId: [{ system: MRN_SYSTEM, value: aliceMrn }], actor: [{ value: labWallet.address }], class: [{ system: RESOURCE_TYPES, code: "Condition" }] }));
      expect(c.extension.decision).toBe("CONSENT_PERMIT");
      // The custodian asked on the lab's behalf: the event is about the lab, by the hospital.
      expect(await newEvents()).toEqual([expect.objectContaining({ actor: hospitalWallet.address.toLowerCase(), requester: labWallet.address.toLowerCase(), decision: "permit" })]);
    });

    it("finds the patient by did:pkh and by a bare address, whatever the identifier system", async () => {
      for (const patientId of [[{ value: did(alice.address) }], [{ system: "urn:ietf:rfc:3986", value: alice.address.toLowerCase() }]]) {
        const c = card(await consult(lab, { patientId, actor: [{ value: did(labWallet.address) }], class: [{ system: RESOURCE_TYPES, code: "Condition" }] }));
        expect(c.extension.decision).toBe("CONSENT_PERMIT");
      }
      expect(await newEvents()).toHaveLength(2);
    });

    it("answers NO_CONSENT (not 400) for a patient nobody can find: an unknown identifier, another custodian's, a did:pkh on another chain", async () => {
      for (const patientId of [
        [{ system: MRN_SYSTEM, value: "MRN-UNKNOWN" }],
        [{ value: "MRN-no-system" }],
        [{ system: "urn:ietf:rfc:3986", value: `did:pkh:eip155:1:${alice.address}` }],
        [],
      ]) {
        const c = card(await consult(lab, { patientId, actor: [{ value: labWallet.address }] }));
        expect(c.extension).toEqual({ decision: "NO_CONSENT", obligations: [] });
      }
      // The lab cannot use the hospital's identifiers to find (or probe for) the patient.
      expect(card(await consult(lab, { patientId: [{ system: MRN_SYSTEM, value: aliceMrn }], actor: [{ value: labWallet.address }] })).extension.decision).toBe("NO_CONSENT");
      const events = await newEvents();
      expect(events).toHaveLength(5);
      expect(events.every((e) => e.decision === "no-consent" && e.patient === null)).toBe(true);
    });

    it("answers NO_CONSENT for a patient with no consent at all, and for an actor known by no account", async () => {
      expect(card(await consult(lab, { patientId: [{ value: did(bob.address) }], actor: [{ value: labWallet.address }] })).extension.decision).toBe("NO_CONSENT");
      expect(card(await consult(lab, { patientId: [{ value: did(alice.address) }], actor: [{ system: "urn:ietf:rfc:3986", value: "urn:oid:2.16.840.1.113883.20.5" }] })).extension.decision).toBe("NO_CONSENT");
      expect(await newEvents()).toHaveLength(2);
    });
  });

  describe("purposes and consent categories", () => {
    it("takes purposeOfUse as a string or a list; a purpose no consent covers gets NO_CONSENT", async () => {
      expect(card(await labAsks({ purposeOfUse: "TREAT", class: [{ system: RESOURCE_TYPES, code: "Condition" }] })).extension.decision).toBe("CONSENT_PERMIT");
      expect(card(await labAsks({ purposeOfUse: ["HRESCH"], class: [{ system: RESOURCE_TYPES, code: "Condition" }] })).extension.decision).toBe("NO_CONSENT");
      expect(card(await labAsks({ purposeOfUse: ["TREAT", "MARKETING"], class: [{ system: RESOURCE_TYPES, code: "Condition" }] })).extension.decision).toBe("NO_CONSENT");
      expect(await newEvents()).toHaveLength(3);
    });

    it("applies patient-privacy consents only when context.category names that kind", async () => {
      const asked = (category: unknown) => labAsks({ category, class: [{ system: RESOURCE_TYPES, code: "Condition" }] });
      expect(card(await asked([{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }])).extension.decision).toBe("CONSENT_PERMIT");
      expect(card(await asked([{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "research" }])).extension.decision).toBe("NO_CONSENT");
      expect(await newEvents()).toHaveLength(2);
    });

    it("accepts the other CDS Hooks request members (fhirServer, prefetch)", async () => {
      const res = await consult(lab, { patientId: [{ value: did(alice.address) }], actor: [{ value: labWallet.address }] }, { fhirServer: "https://ehr.example.org/fhir", prefetch: {} });
      expect(card(res).extension.decision).toBe("CONSENT_PERMIT");
      expect(await newEvents()).toHaveLength(1);
    });
  });

  describe("400s, in LEAP's error shape, each recorded once", () => {
    const patientId = () => [{ value: did(alice.address) }];
    const actor = () => [{ value: labWallet.address }];
    const cases: Array<[string, () => Record<string, unknown>, RegExp]> = [
      ["a missing actor", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId() } }), /actor/],
      ["a missing patientId", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { actor: actor() } }), /patientId/],
      ["an unknown context key", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId(), actor: actor(), requester: actor() } }), /additional properties/],
      ["LEAP's content mode, not supported here", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId(), actor: actor(), content: { resourceType: "Bundle", entry: [] } } }), /content/],
      ["an identifier with another key", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: [{ value: did(alice.address), use: "official" }], actor: actor() } }), /additional properties/],
      ["an identifier without value", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: [{ system: MRN_SYSTEM }], actor: actor() } }), /value/],
      ["a class without system", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId(), actor: actor(), class: [{ code: "Condition" }] } }), /system and code/],
      ["actor not a list", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId(), actor: labWallet.address } }), /array/],
      ["purposeOfUse a number", () => ({ hook: "patient-consent-consult", hookInstance: "h", context: { patientId: patientId(), actor: actor(), purposeOfUse: 7 } }), /purposeOfUse/],
      ["another hook", () => ({ hook: "order-sign", hookInstance: "h", context: { patientId: patientId(), actor: actor() } }), /hook/],
      ["no hookInstance", () => ({ hook: "patient-consent-consult", context: { patientId: patientId(), actor: actor() } }), /hookInstance/],
      ["no context", () => ({ hook: "patient-consent-consult", hookInstance: "h" }), /context/],
    ];

    it.each(cases)("refuses %s", async (_, body, message) => {
      const res = await service.request({ method: "POST", url: "/cds-services/patient-consent-consult", headers: lab, payload: body() });
      leapError(res, 400, message);
      expect(res.body.error).toBe("bad_request");
      expect(await newEvents()).toEqual([expect.objectContaining({ action: "consent.decision", decision: "rejected", actor: labWallet.address.toLowerCase() })]);
    });

    it("answers a malformed body, a missing token and a caller without the institution role in LEAP's shape too", async () => {
      leapError(await service.request({ method: "POST", url: "/cds-services/patient-consent-consult", headers: { ...lab, "content-type": "application/json" }, payload: "{not json" }), 400);
      expect(await newEvents()).toHaveLength(1);
      leapError(await service.request({ method: "POST", url: "/cds-services/patient-consent-consult", payload: { hook: "patient-consent-consult", hookInstance: "h", context: {} } }), 401);
      const aliceAuth = await client.signIn(alice);
      const forbidden = await consult(aliceAuth, { patientId: [{ value: did(alice.address) }], actor: [{ value: labWallet.address }] });
      leapError(forbidden, 403);
      expect(forbidden.body.error).toBe("forbidden");
      // Problem details stay everywhere else.
      const elsewhere = await service.request({ method: "POST", url: "/consent-decisions", headers: lab, payload: {} });
      expect([elsewhere.status, String(elsewhere.headers["content-type"])]).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
      await newEvents();
    });
  });
});
