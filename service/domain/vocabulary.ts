/**
 * The consent vocabulary shared by the contract, the API, the FHIR mappers and the verifier.
 * Bit positions are part of the on-chain format: never renumber them. The contracts accept bits 0-11 only
 * (CATEGORY_COUNT in contracts/Common.sol), so every FHIR type is filed under one of these twelve
 * (docs/fhir.md says why each sits where it does); the `resources` lists are not on chain.
 */

export const CATEGORIES = [
  { bit: 0, code: "demographics", display: "Demographics", resources: ["Patient", "RelatedPerson", "Person"] },
  {
    bit: 1,
    code: "encounters",
    display: "Encounters",
    resources: ["Encounter", "EpisodeOfCare", "Appointment", "AppointmentResponse", "Schedule", "Account", "ChargeItem", "Claim", "ClaimResponse", "Coverage", "CoverageEligibilityRequest", "CoverageEligibilityResponse", "EnrollmentRequest", "ExplanationOfBenefit", "Invoice"],
  },
  {
    bit: 2,
    code: "conditions",
    display: "Conditions",
    resources: ["Condition", "AdverseEvent", "ClinicalImpression", "DetectedIssue", "FamilyMemberHistory", "Flag", "RiskAssessment", "BodyStructure", "QuestionnaireResponse", "Observation:social-history", "Observation:survey", "Observation:exam"],
  },
  { bit: 3, code: "laboratory", display: "Laboratory results", resources: ["Observation:laboratory", "DiagnosticReport:LAB", "Specimen", "MolecularSequence"] },
  { bit: 4, code: "vital-signs", display: "Vital signs and wearables", resources: ["Observation:vital-signs", "Observation:activity", "Device", "DeviceUseStatement", "DeviceRequest"] },
  {
    bit: 5,
    code: "medications",
    display: "Medications",
    resources: ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense", "SupplyRequest", "SupplyDelivery", "VisionPrescription"],
  },
  { bit: 6, code: "allergies", display: "Allergies", resources: ["AllergyIntolerance"] },
  { bit: 7, code: "immunizations", display: "Immunizations", resources: ["Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation"] },
  { bit: 8, code: "procedures", display: "Procedures", resources: ["Procedure", "ServiceRequest", "Observation:procedure", "Observation:therapy"] },
  { bit: 9, code: "imaging", display: "Imaging", resources: ["ImagingStudy", "DiagnosticReport:imaging", "Observation:imaging", "Media"] },
  {
    bit: 10,
    code: "documents",
    display: "Clinical documents",
    resources: ["DocumentReference", "DocumentManifest", "Composition", "DiagnosticReport:note", "Communication", "CommunicationRequest", "List", "Basic", "Provenance"],
  },
  { bit: 11, code: "care-plans", display: "Care plans", resources: ["CarePlan", "CareTeam", "Goal", "NutritionOrder", "RequestGroup", "Task", "ResearchSubject", "MeasureReport", "Group"] },
] as const;

/** HL7 v3 PurposeOfUse codes (http://terminology.hl7.org/CodeSystem/v3-ActReason). */
export const PURPOSES = [
  { bit: 0, code: "TREAT", display: "treatment" },
  { bit: 1, code: "ETREAT", display: "emergency treatment (break-glass)" },
  { bit: 2, code: "HPAYMT", display: "healthcare payment" },
  { bit: 3, code: "HOPERAT", display: "healthcare operations" },
  { bit: 4, code: "HRESCH", display: "healthcare research" },
  { bit: 5, code: "PUBHLTH", display: "public health" },
  { bit: 6, code: "PATRQT", display: "patient requested" },
] as const;

export type CategoryCode = (typeof CATEGORIES)[number]["code"];
export type PurposeCode = (typeof PURPOSES)[number]["code"];

export const ALL_CATEGORIES = (1 << CATEGORIES.length) - 1;
export const ALL_PURPOSES = (1 << PURPOSES.length) - 1;

export const CATEGORY_SYSTEM = "urn:consentry:category";
export const PURPOSE_OF_USE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

export enum ConsentEffect {
  Permit = 0,
  Deny = 1,
}

export type DecisionOutcome = "permit" | "deny" | "no-consent";

/** The contract's Decision enum, by ordinal. */
export const CHAIN_DECISIONS: readonly DecisionOutcome[] = ["no-consent", "permit", "deny"];

export const isValidCategoryMask = (mask: number): boolean =>
  Number.isInteger(mask) && mask > 0 && (mask & ~ALL_CATEGORIES) === 0;
export const isValidPurposeMask = (mask: number): boolean =>
  Number.isInteger(mask) && mask > 0 && (mask & ~ALL_PURPOSES) === 0;

export function purposeBit(code: string): number {
  const purpose = PURPOSES.find((p) => p.code === code);
  if (!purpose) throw new RangeError(`unknown purpose ${code}`);
  return 1 << purpose.bit;
}

export const categoryCodes = (mask: number): CategoryCode[] =>
  CATEGORIES.filter((c) => mask & (1 << c.bit)).map((c) => c.code);
export const purposeCodes = (mask: number): PurposeCode[] =>
  PURPOSES.filter((p) => mask & (1 << p.bit)).map((p) => p.code);
