import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Problem } from "../../service/common/problem";

export type Json = Record<string, any>;

/** The Synthea sample shipped with the tests (test/fixtures/synthea, Apache-2.0). */
export function syntheaSample(): Json[] {
  return readFileSync(join(__dirname, "../fixtures/synthea/sample.ndjson"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

export const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
export const V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074";

const concept = (system: string, code: string) => ({ coding: [{ system, code }] });

/** A patient reference by Patient/{id} unless given another. */
const subjectOf = (subject: Json | string) => (typeof subject === "string" ? { reference: subject } : subject);

// The sample has no Observation or DiagnosticReport; these follow Synthea's shapes for them.
export function observation(category: string, subject: Json | string = "Patient/p1", extra: Json = {}): Json {
  return {
    resourceType: "Observation",
    status: "final",
    category: [concept(OBSERVATION_CATEGORY, category)],
    code: { coding: [{ system: "http://loinc.org", code: "8867-4", display: "Heart rate" }], text: "Heart rate" },
    subject: subjectOf(subject),
    effectiveDateTime: "2024-03-01T10:00:00Z",
    valueQuantity: { value: 72, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
    ...extra,
  };
}

export function diagnosticReport(section: string, subject: Json | string = "Patient/p1", system = V2_0074): Json {
  return {
    resourceType: "DiagnosticReport",
    status: "final",
    category: [concept(system, section)],
    code: { coding: [{ system: "http://loinc.org", code: "58410-2", display: "CBC panel" }] },
    subject: subjectOf(subject),
    effectiveDateTime: "2024-03-01T10:00:00Z",
  };
}

/** One minimal valid resource of each type the sample lacks. */
export function handMade(subject: Json | string = "Patient/p1"): Json[] {
  const s = subjectOf(subject);
  const med = { medicationCodeableConcept: { text: "lisinopril 10 MG Oral Tablet" } };
  return [
    { resourceType: "ImagingStudy", status: "available", subject: s },
    { resourceType: "MedicationStatement", status: "active", subject: s, ...med },
    { resourceType: "MedicationAdministration", status: "completed", subject: s, effectiveDateTime: "2024-03-01", ...med },
    { resourceType: "MedicationDispense", status: "completed", subject: s, ...med },
    { resourceType: "CarePlan", status: "active", intent: "plan", subject: s },
    { resourceType: "CareTeam", status: "active", subject: s },
    { resourceType: "Goal", lifecycleStatus: "active", description: { text: "Lose weight" }, subject: s },
  ];
}

/** A Patient resource carrying these identifiers. */
export function patientResource(identifiers: Array<{ system?: string; value: string }>, extra: Json = {}): Json {
  return { resourceType: "Patient", identifier: identifiers, name: [{ family: "Doe", given: ["Jane"] }], gender: "female", ...extra };
}

/** The Problem `fn` throws (anything else fails the test). */
export function problemOf(fn: () => unknown): Problem {
  try {
    fn();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error("expected a Problem");
}

/** The Problem a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error("expected a Problem");
}
