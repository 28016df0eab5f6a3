import { badRequest, forbidden, Problem } from "../common/problem";

/**
 * The problems the records service raises. Slugs are stable API (clients branch on them); `path` names
 * the offending element in FHIRPath style (e.g. `Observation.code.coding[0].system`).
 */
export const unsupportedResourceType = (type: string) =>
  badRequest(
    "unsupported-resource-type",
    "Unsupported resource type",
    type === "Consent" || type === "AuditEvent"
      ? `${type} resources are not stored: the service serves them from the ledger (GET /fhir/${type})`
      : `Unknown resource types are not served: ${type}`,
    { resourceType: type },
  );

export const unsupportedCategory = (path: string, detail: string) =>
  badRequest("unsupported-category", "Unsupported data category", `${path}: ${detail}`, { path });

/** One failed check, as OperationOutcome.issue carries it under /fhir (`expression` is the path). */
export interface ResourceIssue {
  severity: "error";
  code: string;
  diagnostics: string;
  expression: string[];
}

/**
 * 400 `invalid-resource`: `path` is the first failing element; `issues` lists every failure found (FHIR
 * definitions and Consentry's rules), which /fhir answers as the OperationOutcome's issues.
 */
export const invalidResource = (path: string, detail: string, issues?: ResourceIssue[]) =>
  badRequest("invalid-resource", "Invalid resource", `${path}: ${detail}`, {
    path,
    issues: issues ?? [{ severity: "error", code: "invalid", diagnostics: detail, expression: [path] }],
  });

/** 422: the resource is well-formed but names no patient this custodian may store records for. */
export const unknownPatient = (path: string, detail: string) =>
  new Problem(422, "unknown-patient", "Unknown patient", `${path}: ${detail}`, { path });

export const patientNotEnrolled = (path: string) =>
  new Problem(422, "patient-not-enrolled", "Patient not enrolled", `${path}: the patient is not enrolled with this custodian`, {
    path,
  });

export const ambiguousPatient = (path: string) =>
  new Problem(422, "ambiguous-patient", "Ambiguous patient", `${path}: the references name different patients`, { path });

/** A record stays with the patient it was first stored for: its versions are encrypted under that patient's key. */
export const patientMismatch = (path: string) =>
  new Problem(422, "patient-mismatch", "Patient mismatch", `${path}: an update cannot move a record to another patient`, {
    path,
  });

export const wrongCustodian = () => forbidden("wrong-custodian", "Only the custodian that stored a record may update it");

export const versionConflict = (expected: number, actual: number) =>
  new Problem(412, "version-conflict", "Version conflict", `Expected version ${expected} but the current version is ${actual}`, {
    currentVersionId: actual,
  });
