import { Problem } from "../../service/common/problem";
import { ChainAccounts } from "../../service/domain/fhir-identity";
import { isFhirPath, operationOutcomeOf } from "../../service/domain/fhir-operation-outcome";
import { parseLastUpdated, parsePatientParam } from "../../service/record-release/search-params";
import { parseTransaction, rewriteReferences } from "../../service/record-release/transaction";
import { invalidResource } from "../../service/records/record-problems";

const slugOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Problem) return error.slug;
    throw error;
  }
  throw new Error("expected a Problem");
};

describe("OperationOutcome for problems under /fhir", () => {
  it("keeps the slug as a coding, the status's issue type, and every path of an invalid resource", () => {
    const problem = invalidResource("Condition.code", "must be an object", [
      { severity: "error", code: "structure", diagnostics: "must be an object", expression: ["Condition.code"] },
      { severity: "error", code: "required", diagnostics: "Missing required property", expression: ["Condition.subject"] },
    ]);
    const outcome = operationOutcomeOf(problem.toBody("/fhir/Condition"));
    expect(outcome).toEqual({
      resourceType: "OperationOutcome",
      issue: [
        { severity: "error", code: "structure", details: { coding: [{ system: "urn:consentry:problem", code: "invalid-resource", display: "Invalid resource" }], text: "Invalid resource" }, diagnostics: "must be an object", expression: ["Condition.code"] },
        { severity: "error", code: "required", details: { coding: [{ system: "urn:consentry:problem", code: "invalid-resource", display: "Invalid resource" }], text: "Invalid resource" }, diagnostics: "Missing required property", expression: ["Condition.subject"] },
      ],
    });
  });

  it.each([
    [403, "consent-required", "security"],
    [404, "record-not-found", "not-found"],
    [412, "version-conflict", "conflict"],
    [422, "unknown-patient", "not-found"],
    [429, "rate-limited", "throttled"],
    [503, "consent-state-unavailable", "transient"],
    [500, "internal-error", "exception"],
  ])("maps %i %s to issue type %s", (status, slug, code) => {
    const [issue] = operationOutcomeOf({ type: `urn:consentry:problem:${slug}`, title: "t", status, detail: "d", path: "X.y" }).issue;
    expect(issue).toMatchObject({ severity: status >= 500 ? "fatal" : "error", code, diagnostics: "d", expression: ["X.y"] });
  });

  it("applies to /fhir and below only", () => {
    expect([isFhirPath("/fhir"), isFhirPath("/fhir/Condition?x=1"), isFhirPath("/fhirx"), isFhirPath("/consents")]).toEqual([true, true, false, false]);
  });
});

describe("search parameters", () => {
  it("reads _lastUpdated prefixes and precisions as a half-open range", () => {
    expect(parseLastUpdated("2026-11")).toEqual({ from: new Date("2026-11-01T00:00:00Z"), before: new Date("2026-12-01T00:00:00Z") });
    expect(parseLastUpdated(["ge2026-01-01", "lt2026-02-01T00:00:00Z"])).toEqual({ from: new Date("2026-01-01T00:00:00Z"), before: new Date("2026-02-01T00:00:00Z") });
    expect(parseLastUpdated("gt2026-01-01")).toEqual({ from: new Date("2026-01-02T00:00:00Z") });
    expect(parseLastUpdated("le2026")).toEqual({ before: new Date("2027-01-01T00:00:00Z") });
    expect(slugOf(() => parseLastUpdated("yesterday"))).toBe("invalid-search");
    expect(slugOf(() => parseLastUpdated("2026-01-01T10:00"))).toBe("invalid-search");
    expect(slugOf(() => parseLastUpdated("2026-13-01"))).toBe("invalid-search");
    // Days past the month's end are refused, not rolled over into the next month.
    expect(slugOf(() => parseLastUpdated("2026-02-30"))).toBe("invalid-search");
    expect(slugOf(() => parseLastUpdated("2026-04-31T10:00:00Z"))).toBe("invalid-search");
    expect(parseLastUpdated("2028-02-29")).toEqual({ from: new Date("2028-02-29T00:00:00Z"), before: new Date("2028-03-01T00:00:00Z") });
  });

  it("reads patient= as an account or system|value", () => {
    const accounts = new ChainAccounts(31337);
    const address = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
    expect(parsePatientParam(address.toLowerCase(), accounts)).toEqual({ account: address });
    expect(parsePatientParam(`did:pkh:eip155:31337:${address}`, accounts)).toEqual({ account: address });
    expect(parsePatientParam("https://github.com/synthetichealth/synthea|a5cb", accounts)).toEqual({ identifier: { system: "https://github.com/synthetichealth/synthea", value: "a5cb" } });
    expect(slugOf(() => parsePatientParam("|x", accounts))).toBe("invalid-patient");
    expect(slugOf(() => parsePatientParam("did:pkh:eip155:1:" + address, accounts))).toBe("invalid-patient");
  });
});

describe("transaction bundles", () => {
  const bundle = (entry: unknown[]) => ({ resourceType: "Bundle", type: "transaction", entry });
  const patient = { resourceType: "Patient", identifier: [{ system: "urn:x", value: "1" }] };

  it("gives POST entries new ids, keeps PUT ids, and rewrites references to fullUrls", () => {
    const entries = parseTransaction(
      bundle([
        { fullUrl: "urn:uuid:p", resource: patient, request: { method: "POST", url: "Patient" } },
        { fullUrl: "http://other/fhir/Encounter/e1", resource: { resourceType: "Encounter", id: "e1", subject: { reference: "urn:uuid:p" } }, request: { method: "PUT", url: "Encounter/e1" } },
        { resource: { resourceType: "Condition", subject: { reference: "urn:uuid:p" }, encounter: { reference: "http://other/fhir/Encounter/e1" }, evidence: [{ detail: [{ reference: "Observation/o1" }] }] }, request: { method: "POST", url: "Condition" } },
      ]),
    );
    rewriteReferences(entries);
    const patientId = entries[0].id;
    expect(entries[0].resource.id).toBe(patientId);
    expect(entries[1].id).toBe("e1");
    expect(entries[1].resource.subject).toEqual({ reference: `Patient/${patientId}` });
    expect(entries[2].resource).toMatchObject({ subject: { reference: `Patient/${patientId}` }, encounter: { reference: "Encounter/e1" }, evidence: [{ detail: [{ reference: "Observation/o1" }] }] });
  });

  it.each([
    ["not a Bundle", { resourceType: "Patient" }, "Bundle"],
    ["a batch", { resourceType: "Bundle", type: "batch", entry: [] }, "Bundle.type"],
    ["no entries", bundle([]), "Bundle.entry"],
    ["a GET entry", bundle([{ resource: patient, request: { method: "GET", url: "Patient" } }]), "Bundle.entry[0].request.method"],
    ["a conditional create", bundle([{ resource: patient, request: { method: "POST", url: "Patient", ifNoneExist: "identifier=urn:x|1" } }]), "Bundle.entry[0].request"],
    ["a POST to another type", bundle([{ resource: patient, request: { method: "POST", url: "Condition" } }]), "Bundle.entry[0].request.url"],
    ["the same PUT twice", bundle([{ resource: { ...patient, id: "a" }, request: { method: "PUT", url: "Patient/a" } }, { resource: { ...patient, id: "a" }, request: { method: "PUT", url: "Patient/a" } }]), "Bundle.entry[1].request.url"],
  ])("refuses %s", (_, body, path) => {
    try {
      parseTransaction(body);
      throw new Error("accepted");
    } catch (error) {
      expect((error as Problem).toBody()).toMatchObject({ type: "urn:consentry:problem:invalid-bundle", status: 400, path });
    }
  });

  it("refuses a urn:uuid reference to no entry of the bundle", () => {
    const entries = parseTransaction(bundle([{ resource: { resourceType: "Condition", subject: { reference: "urn:uuid:nowhere" } }, request: { method: "POST", url: "Condition" } }]));
    expect(slugOf(() => rewriteReferences(entries))).toBe("invalid-bundle");
  });
});
