import { categoriesOfType, categoryOf } from "../../service/records/record-category";
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

  it("classifies every Synthea sample resource of a supported type, after validating it", () => {
    const supported = sample.filter((r) => !["Device", "Location", "Organization", "Practitioner", "PractitionerRole"].includes(r.resourceType));
    expect(new Set(supported.map((r) => r.resourceType))).toEqual(
      new Set(["Patient", "Condition", "Encounter", "MedicationRequest", "Immunization", "DocumentReference", "AllergyIntolerance", "Procedure"]),
    );
    for (const resource of supported) {
      validateResource(resource.resourceType, resource);
      expect([resource.resourceType, categoryOf(resource).code]).toEqual([resource.resourceType, EXPECTED[resource.resourceType]]);
    }
  });

  it.each(["Device", "Location", "Organization", "Practitioner", "PractitionerRole"])("refuses the sample's %s: unknown types are not served", (type) => {
    const resource = sample.find((r) => r.resourceType === type)!;
    for (const problem of [problemOf(() => categoryOf(resource)), problemOf(() => validateResource(type, resource))]) {
      expect(problem.statusCode).toBe(400);
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:unsupported-resource-type", resourceType: type });
      expect(problem.detail).toMatch(/Unknown resource types are not served/);
    }
  });

  it("classifies the types the sample lacks", () => {
    for (const resource of handMade()) {
      validateResource(resource.resourceType, resource);
      expect(categoryOf(resource).code).toBe(EXPECTED[resource.resourceType]);
    }
  });

  it.each([
    ["laboratory", "laboratory", 3],
    ["vital-signs", "vital-signs", 4],
    ["activity", "vital-signs", 4],
    ["imaging", "imaging", 9],
  ])("files an Observation of category %s under %s", (code, category, bit) => {
    expect(categoryOf(validateResource("Observation", observation(code)))).toEqual({ code: category, bit });
  });

  it.each(["social-history", "survey", "exam", "therapy", "procedure"])("refuses an Observation of category %s", (code) => {
    const problem = problemOf(() => categoryOf(observation(code)));
    expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:unsupported-category", status: 400, path: "Observation.category" });
  });

  it("ignores category codes from other systems and refuses an Observation spanning two categories", () => {
    const foreign = observation("laboratory", "Patient/p1", { category: [{ coding: [{ system: "http://example.org/x", code: "laboratory" }] }] });
    expect(problemOf(() => categoryOf(foreign)).slug).toBe("unsupported-category");
    const both = observation("laboratory", "Patient/p1", {
      category: [observation("laboratory").category[0], observation("vital-signs").category[0]],
    });
    expect(problemOf(() => categoryOf(both)).detail).toMatch(/spans several data categories \(laboratory, vital-signs\)/);
    // An extra, unmapped code next to a mapped one is fine: the mapped one decides.
    const extra = observation("laboratory", "Patient/p1", { category: [...observation("laboratory").category, ...observation("survey").category] });
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

  it("files a US Core radiology note report (LOINC LP29684-5) under imaging and refuses genetics and cardiology", () => {
    expect(categoryOf(diagnosticReport("LP29684-5", "Patient/p1", "http://loinc.org")).code).toBe("imaging");
    for (const section of ["GE", "CG", "EC", "SP", "constructor"]) {
      expect(problemOf(() => categoryOf(diagnosticReport(section))).slug).toBe("unsupported-category");
    }
    expect(problemOf(() => categoryOf(diagnosticReport("LAB", "Patient/p1", "http://loinc.org"))).slug).toBe("unsupported-category");
  });

  it("lists the categories a type can fall in, for searches", () => {
    expect(categoriesOfType("Observation").map((c) => c.code)).toEqual(["laboratory", "vital-signs", "imaging"]);
    expect(categoriesOfType("DiagnosticReport").map((c) => c.code)).toEqual(["laboratory", "imaging"]);
    expect(categoriesOfType("Goal").map((c) => c.bit)).toEqual([11]);
    expect(problemOf(() => categoriesOfType("Device")).slug).toBe("unsupported-resource-type");
    expect(problemOf(() => categoriesOfType("toString")).slug).toBe("unsupported-resource-type");
  });
});
