import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../service/paths";
import { isSupportedResourceType } from "../../service/records/resource-rules";

export type FhirJson = Record<string, any> & { resourceType: string; id?: string };

/** The Synthea sample committed under test/fixtures/synthea (Apache-2.0, synthetic people only). */
export function syntheaSample(): FhirJson[] {
  return readFileSync(join(PROJECT_ROOT, "test/fixtures/synthea/sample.ndjson"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as FhirJson);
}

/** The sample patient `patientId` and every record of a type Consentry serves that refers to them. */
export function recordsOf(patientId: string): { patient: FhirJson; records: FhirJson[] } {
  const all = syntheaSample();
  const patient = all.find((r) => r.resourceType === "Patient" && r.id === patientId)!;
  const records = all.filter(
    (r) => r.resourceType !== "Patient" && isSupportedResourceType(r.resourceType) && JSON.stringify(r).includes(`Patient/${patientId}`),
  );
  return { patient, records };
}

/** A laboratory Observation (LOINC 2339-0, glucose) for `patientRef` (Patient/<id> or a did:pkh), as a lab system would send it. */
export function labObservation(patientRef: string, value = 95): FhirJson {
  return {
    resourceType: "Observation",
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
    code: { coding: [{ system: "http://loinc.org", code: "2339-0", display: "Glucose [Mass/volume] in Blood" }] },
    subject: patientRef.startsWith("did:") ? { identifier: { system: "urn:ietf:rfc:3986", value: patientRef } } : { reference: patientRef },
    effectiveDateTime: "2026-11-01T08:00:00Z",
    valueQuantity: { value, unit: "mg/dL", system: "http://unitsofmeasure.org", code: "mg/dL" },
  };
}
