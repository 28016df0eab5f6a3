/**
 * What each supported FHIR R4 resource type must carry, beyond the generic JSON rules: its required
 * elements (FHIR's own 1..1 / 1..* cardinalities and required code bindings), plus the reference to
 * the patient, which Consentry requires even where FHIR makes it optional — a record nobody owns
 * cannot be consent-checked.
 */

/** The shape an element must have. A string array is a `code` from that required value set. */
export type ElementKind =
  | "code"
  | "string"
  | "dateTime"
  | "Coding"
  | "CodeableConcept"
  | "CodeableConcept[]"
  | "Period"
  | "Reference"
  | "Identifier"
  | "Identifier[]"
  | "DocumentContent"
  | "DocumentContent[]"
  | readonly string[];

export interface ResourceRule {
  /** The Reference element naming the patient; null for Patient, which is resolved by its identifiers. */
  patient: "subject" | "patient" | null;
  required: Readonly<Record<string, ElementKind>>;
  /** Choice elements (`medication[x]`): exactly one of the named variants must be present. */
  choices?: Readonly<Record<string, Readonly<Record<string, ElementKind>>>>;
}

const MEDICATION = { medicationCodeableConcept: "CodeableConcept", medicationReference: "Reference" } as const;

// Required value sets of FHIR R4 (status and intent bindings are `required` strength there).
const ENCOUNTER_STATUS = ["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"];
const OBSERVATION_STATUS = ["registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"];
const REPORT_STATUS = ["registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled", "entered-in-error", "unknown"];
const IMAGING_STATUS = ["registered", "available", "cancelled", "entered-in-error", "unknown"];
const MED_REQUEST_STATUS = ["active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"];
const MED_REQUEST_INTENT = ["proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"];
const MED_STATEMENT_STATUS = ["active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"];
const MED_ADMIN_STATUS = ["in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"];
const MED_DISPENSE_STATUS = ["preparation", "in-progress", "cancelled", "on-hold", "completed", "entered-in-error", "stopped", "declined", "unknown"];
const IMMUNIZATION_STATUS = ["completed", "entered-in-error", "not-done"];
const PROCEDURE_STATUS = ["preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"];
const DOCUMENT_STATUS = ["current", "superseded", "entered-in-error"];
const CARE_PLAN_STATUS = ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"];
const CARE_PLAN_INTENT = ["proposal", "plan", "order", "option"];
const GOAL_STATUS = ["proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"];

export const RESOURCE_RULES: Readonly<Record<string, ResourceRule>> = {
  Patient: { patient: null, required: { identifier: "Identifier[]" } },
  Encounter: { patient: "subject", required: { status: ENCOUNTER_STATUS, class: "Coding" } },
  Condition: { patient: "subject", required: {} },
  // category is 0..* in FHIR; required here because it decides which consent category applies.
  Observation: { patient: "subject", required: { status: OBSERVATION_STATUS, code: "CodeableConcept", category: "CodeableConcept[]" } },
  DiagnosticReport: { patient: "subject", required: { status: REPORT_STATUS, code: "CodeableConcept", category: "CodeableConcept[]" } },
  ImagingStudy: { patient: "subject", required: { status: IMAGING_STATUS } },
  MedicationRequest: { patient: "subject", required: { status: MED_REQUEST_STATUS, intent: MED_REQUEST_INTENT }, choices: { medication: MEDICATION } },
  MedicationStatement: { patient: "subject", required: { status: MED_STATEMENT_STATUS }, choices: { medication: MEDICATION } },
  MedicationAdministration: {
    patient: "subject",
    required: { status: MED_ADMIN_STATUS },
    choices: { medication: MEDICATION, effective: { effectiveDateTime: "dateTime", effectivePeriod: "Period" } },
  },
  MedicationDispense: { patient: "subject", required: { status: MED_DISPENSE_STATUS }, choices: { medication: MEDICATION } },
  AllergyIntolerance: { patient: "patient", required: {} },
  Immunization: {
    patient: "patient",
    required: { status: IMMUNIZATION_STATUS, vaccineCode: "CodeableConcept" },
    choices: { occurrence: { occurrenceDateTime: "dateTime", occurrenceString: "string" } },
  },
  Procedure: { patient: "subject", required: { status: PROCEDURE_STATUS } },
  DocumentReference: { patient: "subject", required: { status: DOCUMENT_STATUS, content: "DocumentContent[]" } },
  CarePlan: { patient: "subject", required: { status: CARE_PLAN_STATUS, intent: CARE_PLAN_INTENT } },
  CareTeam: { patient: "subject", required: {} },
  Goal: { patient: "subject", required: { lifecycleStatus: GOAL_STATUS, description: "CodeableConcept" } },
};

export const isSupportedResourceType = (type: string): boolean => Object.hasOwn(RESOURCE_RULES, type);
