/**
 * Which FHIR R4 resource types the record store serves, and how each names its patient (docs/fhir.md).
 *
 * - Every type of the R4 Patient compartment (CompartmentDefinition/patient) is a patient's data: it
 *   must name its patient, and its data category (docs/architecture.md §4, service/domain/vocabulary.ts)
 *   decides which consents release it. Consent and AuditEvent are the exceptions: the service serves
 *   them itself, from the chain and the access trail (`GET /fhir/Consent`, `GET /fhir/AuditEvent`).
 * - Types outside the compartment that describe who and what care involves (Organization, Practitioner,
 *   Location, Medication …) are directory data: stored per custodian, released to any institution without
 *   a consent, and still recorded in the access trail.
 * - Device, Schedule and Group are either: a patient's when they name one, directory data when they do not.
 *
 * Structure, cardinalities and required codes come from the FHIR definitions (fhir-definitions.ts); these
 * rules add what Consentry needs on top: a patient reference where FHIR may leave it out, and the
 * category codings of Observation and DiagnosticReport.
 */

export interface ResourceRule {
  /**
   * Where the patient is named: element names from the resource down to the Reference(s) (e.g.
   * `["subject"]`, `["participant", "actor"]`); null for Patient itself, which is resolved by its
   * identifiers.
   */
  patient: readonly string[] | null;
  /**
   * The element may hold references to others than the patient (participants, targets, members): only
   * Patient references there count, and there must be at least one. Otherwise every reference there
   * must name the patient.
   */
  shared?: boolean;
  /** Without a patient reference the resource is directory data (Device, Schedule, Group). */
  directoryWithoutPatient?: boolean;
  /** Elements Consentry requires although FHIR does not (the category that decides the consent category). */
  required?: readonly string[];
}

const at = (...path: string[]): ResourceRule => ({ patient: path });
const among = (...path: string[]): ResourceRule => ({ patient: path, shared: true });

/** The Patient compartment of FHIR R4, less Consent and AuditEvent, with each type's patient element. */
export const RESOURCE_RULES: Readonly<Record<string, ResourceRule>> = {
  Patient: { patient: null },
  Account: among("subject"),
  AdverseEvent: at("subject"),
  AllergyIntolerance: at("patient"),
  Appointment: among("participant", "actor"),
  AppointmentResponse: at("actor"),
  Basic: at("subject"),
  BodyStructure: at("patient"),
  CarePlan: at("subject"),
  CareTeam: at("subject"),
  ChargeItem: at("subject"),
  Claim: at("patient"),
  ClaimResponse: at("patient"),
  ClinicalImpression: at("subject"),
  Communication: at("subject"),
  CommunicationRequest: at("subject"),
  Composition: at("subject"),
  Condition: at("subject"),
  Coverage: at("beneficiary"),
  CoverageEligibilityRequest: at("patient"),
  CoverageEligibilityResponse: at("patient"),
  DetectedIssue: at("patient"),
  Device: { patient: ["patient"], directoryWithoutPatient: true },
  DeviceRequest: at("subject"),
  DeviceUseStatement: at("subject"),
  DiagnosticReport: { patient: ["subject"], required: ["category"] },
  DocumentManifest: at("subject"),
  DocumentReference: at("subject"),
  Encounter: at("subject"),
  EnrollmentRequest: at("candidate"),
  EpisodeOfCare: at("patient"),
  ExplanationOfBenefit: at("patient"),
  FamilyMemberHistory: at("patient"),
  Flag: at("subject"),
  Goal: at("subject"),
  Group: { patient: ["member", "entity"], shared: true, directoryWithoutPatient: true },
  ImagingStudy: at("subject"),
  Immunization: at("patient"),
  ImmunizationEvaluation: at("patient"),
  ImmunizationRecommendation: at("patient"),
  Invoice: at("subject"),
  List: at("subject"),
  MeasureReport: at("subject"),
  Media: at("subject"),
  MedicationAdministration: at("subject"),
  MedicationDispense: at("subject"),
  MedicationRequest: at("subject"),
  MedicationStatement: at("subject"),
  MolecularSequence: at("patient"),
  NutritionOrder: at("patient"),
  // category is 0..* in FHIR; required here because it decides which consent category applies.
  Observation: { patient: ["subject"], required: ["category"] },
  Person: among("link", "target"),
  Procedure: at("subject"),
  Provenance: among("target"),
  QuestionnaireResponse: at("subject"),
  RelatedPerson: at("patient"),
  RequestGroup: at("subject"),
  ResearchSubject: at("individual"),
  RiskAssessment: at("subject"),
  Schedule: { patient: ["actor"], shared: true, directoryWithoutPatient: true },
  ServiceRequest: at("subject"),
  Specimen: at("subject"),
  SupplyDelivery: at("patient"),
  SupplyRequest: at("deliverTo"),
  Task: at("for"),
  VisionPrescription: at("patient"),
};

/**
 * Directory data: resources outside the Patient compartment that records refer to — who gives care,
 * where, with what. No patient, no consent; any institution may read them, and every access is recorded.
 */
export const DIRECTORY_TYPES: ReadonlySet<string> = new Set([
  "Organization",
  "OrganizationAffiliation",
  "Practitioner",
  "PractitionerRole",
  "Location",
  "HealthcareService",
  "Endpoint",
  "Slot",
  "Medication",
  "MedicationKnowledge",
  "Substance",
  "DeviceDefinition",
  "Questionnaire",
  "PlanDefinition",
  "ActivityDefinition",
]);

/** Compartment types the service serves from the ledger itself rather than storing them. */
export const LEDGER_VIEWS: ReadonlySet<string> = new Set(["Consent", "AuditEvent"]);

/** Types that are a patient's data (with the patient named), whatever else they may be. */
export const isPatientResourceType = (type: string): boolean => Object.hasOwn(RESOURCE_RULES, type);

/** Types only ever stored as directory data. */
export const isDirectoryOnlyType = (type: string): boolean => DIRECTORY_TYPES.has(type);

/** Types that may be stored as directory data: the directory types, and those that are when they name no patient. */
export const mayBeDirectory = (type: string): boolean => DIRECTORY_TYPES.has(type) || RESOURCE_RULES[type]?.directoryWithoutPatient === true;

export const isSupportedResourceType = (type: string): boolean => isPatientResourceType(type) || isDirectoryOnlyType(type);
