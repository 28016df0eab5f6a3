import type { FhirJson } from "../support/synthea";

/**
 * Resources in the shapes Synthea writes them (Synthea ≥ 3, US Core profiles) for the kinds the committed
 * sample lacks: an Observation of every code of the standard observation-category value set, the clinical
 * note DiagnosticReports (LOINC LP29684-5, LP29708-2, LP7839-6 with the note in presentedForm), a lab
 * DiagnosticReport, a Provenance and a Claim. Written for these tests, not copied from a dataset.
 */
const OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
const LOINC = "http://loinc.org";

function observation(patientRef: string, category: string, code: string, display: string, value: Record<string, unknown>): FhirJson {
  return {
    resourceType: "Observation",
    meta: { profile: ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab"] },
    status: "final",
    category: [{ coding: [{ system: OBS_CATEGORY, code, display: code }] }],
    code: { coding: [{ system: LOINC, code: display.split(" ")[0], display }], text: display },
    subject: { reference: patientRef },
    effectiveDateTime: "2026-10-03T09:30:00-04:00",
    issued: "2026-10-03T09:30:00.000-04:00",
    ...value,
  };
}

/** One Observation per code of http://terminology.hl7.org/CodeSystem/observation-category. */
export function observationsOfEveryCategory(patientRef: string): FhirJson[] {
  const quantity = (value: number, unit: string) => ({ valueQuantity: { value, unit, system: "http://unitsofmeasure.org", code: unit } });
  const concept = (system: string, code: string, display: string) => ({ valueCodeableConcept: { coding: [{ system, code, display }], text: display } });
  return [
    observation(patientRef, "social-history", "social-history", "72166-2 Tobacco smoking status", concept("http://snomed.info/sct", "266919005", "Never smoked tobacco (finding)")),
    observation(patientRef, "survey", "survey", "72514-3 Pain severity - 0-10 verbal numeric rating [Score] - Reported", quantity(2, "{score}")),
    observation(patientRef, "exam", "exam", "8302-2 Body height", quantity(172.4, "cm")),
    observation(patientRef, "imaging", "imaging", "24627-2 Chest CT", { valueString: "No acute findings" }),
    observation(patientRef, "procedure", "procedure", "8601-7 EKG impression", { valueString: "Sinus rhythm" }),
    observation(patientRef, "therapy", "therapy", "89248-9 Physical therapy session", { valueString: "Completed" }),
    observation(patientRef, "activity", "activity", "55423-8 Number of steps in unspecified time Pedometer", quantity(8421, "{steps}")),
    observation(patientRef, "vital-signs", "vital-signs", "8867-4 Heart rate", quantity(72, "/min")),
    observation(patientRef, "laboratory", "laboratory", "2339-0 Glucose [Mass/volume] in Blood", quantity(95, "mg/dL")),
  ];
}

/** Synthea's clinical note: a DiagnosticReport under the three US Core note categories, the note base64 in presentedForm. */
export function clinicalNote(patientRef: string, categories: string[] = ["LP29684-5", "LP29708-2", "LP7839-6"]): FhirJson {
  const names: Record<string, string> = { "LP29684-5": "Radiology", "LP29708-2": "Cardiology", "LP7839-6": "Pathology" };
  return {
    resourceType: "DiagnosticReport",
    meta: { profile: ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-diagnosticreport-note"] },
    status: "final",
    category: categories.map((code) => ({ coding: [{ system: LOINC, code, display: names[code] }] })),
    code: { coding: [{ system: LOINC, code: "34117-2", display: "History and physical note" }] },
    subject: { reference: patientRef },
    effectiveDateTime: "2026-10-03T09:30:00-04:00",
    issued: "2026-10-03T09:30:00.000-04:00",
    presentedForm: [{ contentType: "text/plain; charset=utf-8", data: Buffer.from("2026-10-03\n\n# Chief Complaint\nNo complaints.\n").toString("base64") }],
  };
}

export function labReport(patientRef: string): FhirJson {
  return {
    resourceType: "DiagnosticReport",
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0074", code: "LAB", display: "Laboratory" }] }],
    code: { coding: [{ system: LOINC, code: "51990-0", display: "Basic metabolic panel - Blood" }] },
    subject: { reference: patientRef },
    effectiveDateTime: "2026-10-03T09:30:00-04:00",
    issued: "2026-10-03T09:30:00.000-04:00",
  };
}

export function claim(patientRef: string): FhirJson {
  return {
    resourceType: "Claim",
    status: "active",
    type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/claim-type", code: "professional" }] },
    use: "claim",
    patient: { reference: patientRef },
    created: "2026-10-03T09:30:00-04:00",
    provider: { display: "St Mary's Hospital" },
    priority: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/processpriority", code: "normal" }] },
    insurance: [{ sequence: 1, focal: true, coverage: { display: "Medicaid" } }],
    total: { value: 129.16, currency: "USD" },
  };
}

export function provenance(patientRef: string, targets: string[]): FhirJson {
  return {
    resourceType: "Provenance",
    target: [{ reference: patientRef }, ...targets.map((reference) => ({ reference }))],
    recorded: "2026-10-03T09:30:00.000-04:00",
    agent: [{ type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "author" }] }, who: { display: "St Mary's Hospital" } }],
  };
}

/** Synthea's ExplanationOfBenefit: its referral (ServiceRequest) and Coverage contained, as Synthea writes them. */
export function explanationOfBenefit(patientRef: string, claimRef: string): FhirJson {
  return {
    resourceType: "ExplanationOfBenefit",
    contained: [
      { resourceType: "ServiceRequest", id: "referral", status: "completed", intent: "order", subject: { reference: patientRef }, requester: { display: "Dr. Hand" }, performer: [{ display: "Dr. Hand" }] },
      { resourceType: "Coverage", id: "coverage", status: "active", type: { text: "Medicaid" }, beneficiary: { reference: patientRef }, payor: [{ display: "Medicaid" }] },
    ],
    identifier: [{ system: "https://bluebutton.cms.gov/resources/variables/clm_id", value: "a1b2c3" }],
    status: "active",
    type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/claim-type", code: "professional" }] },
    use: "claim",
    patient: { reference: patientRef },
    billablePeriod: { start: "2026-10-03T09:30:00-04:00", end: "2026-10-03T09:45:00-04:00" },
    created: "2026-10-03T09:45:00-04:00",
    insurer: { display: "Medicaid" },
    provider: { display: "Dr. Hand" },
    referral: { reference: "#referral" },
    outcome: "complete",
    claim: { reference: claimRef },
    insurance: [{ focal: true, coverage: { reference: "#coverage", display: "Medicaid" } }],
    total: [{ category: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/adjudication", code: "submitted" }] }, amount: { value: 129.16, currency: "USD" } }],
    payment: { amount: { value: 103.33, currency: "USD" } },
  };
}
