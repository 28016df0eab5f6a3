import { definitionIssues } from "./fhir-definitions";
import { assertFhirJson, isPlainObject } from "./json-shape";
import { invalidResource, type ResourceIssue, unsupportedResourceType } from "./record-problems";
import { isPatientReference, referencesAt } from "./record-category";
import { isPatientResourceType, isSupportedResourceType, LEDGER_VIEWS, RESOURCE_RULES } from "./resource-rules";

/** A resource that passed validation: a plain JSON object whose `resourceType` is a supported type. */
export type FhirResource = Record<string, unknown> & { resourceType: string; id?: string };

/** FHIR `id`: 1–64 of letters, digits, `-` and `.` (R4 §2.24.0.1). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Validates a resource sent for `type` (the type in the URL), in three passes:
 * 1. FHIR JSON and Consentry's bounds (json-shape.ts): plain objects, no nulls or empty values, size, depth;
 * 2. the FHIR R4 definition of the type (fhir-definitions.ts: Medplum's validator over HL7's
 *    StructureDefinitions, one variant per choice element, codes of required value sets);
 * 3. Consentry's rules (resource-rules.ts): the reference naming the patient, the category codings
 *    that decide the consent category, no record type hidden in `contained`.
 * Throws `unsupported-resource-type`, or `invalid-resource` listing every failure with its path.
 */
export function validateResource(type: string, body: unknown): FhirResource {
  if (LEDGER_VIEWS.has(type) || !isSupportedResourceType(type)) throw unsupportedResourceType(type);
  if (!isPlainObject(body)) throw invalidResource(type, "the body must be a JSON object");
  if (body.resourceType !== type) {
    throw invalidResource(`${type}.resourceType`, `must be "${type}" (got ${JSON.stringify(body.resourceType) ?? "nothing"})`);
  }
  assertFhirJson(body, type);
  if (body.id !== undefined && (typeof body.id !== "string" || !FHIR_ID.test(body.id))) {
    throw invalidResource(`${type}.id`, "must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'");
  }
  if (body.meta !== undefined && !isPlainObject(body.meta)) throw invalidResource(`${type}.meta`, "must be an object");
  const resource = body as FhirResource;
  const issues: ResourceIssue[] = [
    ...definitionIssues(resource).map((i) => issue(i.code, i.expression, i.diagnostics)),
    ...consentryIssues(resource, type),
  ];
  if (issues.length > 0) throw invalidResource(issues[0].expression[0], issues[0].diagnostics, issues);
  return resource;
}

/** Billing resources, which may contain the resources they bill for (docs/fhir.md §1). */
const BILLING_TYPES: ReadonlySet<string> = new Set(["Account", "ChargeItem", "Claim", "ClaimResponse", "Coverage", "CoverageEligibilityRequest", "CoverageEligibilityResponse", "ExplanationOfBenefit", "Invoice"]);

const issue = (code: string, path: string, diagnostics: string): ResourceIssue => ({ severity: "error", code, diagnostics, expression: [path] });

/** What Consentry requires beyond FHIR: the patient reference, the classifying category, no contained records. */
function consentryIssues(body: FhirResource, type: string): ResourceIssue[] {
  const out: ResourceIssue[] = [];
  const rule = isPatientResourceType(type) ? RESOURCE_RULES[type] : undefined;
  for (const name of rule?.required ?? []) {
    if (body[name] === undefined) out.push(issue("required", `${type}.${name}`, "is required (it decides the consent category)"));
  }
  if (rule?.patient === null) {
    if (body.identifier === undefined) out.push(issue("required", `${type}.identifier`, "is required (it names the enrolled patient)"));
    else if (!Array.isArray(body.identifier)) out.push(issue("structure", `${type}.identifier`, "must be an array"));
    else {
      body.identifier.forEach((id: unknown, i: number) => {
        if (isPlainObject(id) && typeof id.value !== "string") out.push(issue("required", `${type}.identifier[${i}].value`, "is required"));
      });
    }
  } else if (rule) {
    out.push(...patientReferenceIssues(body, type, rule.patient, rule.shared === true, rule.directoryWithoutPatient === true));
  }
  const contained = body.contained;
  // Billing records quote what they bill (Synthea's EOB contains its referral and coverage): filed under
  // encounters, they are released as a whole under that category, contained resources included (docs/fhir.md).
  if (Array.isArray(contained) && !BILLING_TYPES.has(type)) {
    contained.forEach((item, i) => {
      if (isPlainObject(item) && typeof item.resourceType === "string" && isPatientResourceType(item.resourceType)) {
        // It would travel inside its container's ciphertext and category: released under the wrong consent.
        out.push(issue("business-rule", `${type}.contained[${i}].resourceType`, `a contained ${item.resourceType} must be stored as a record of its own`));
      }
    });
  }
  return out;
}

function patientReferenceIssues(body: FhirResource, type: string, path: readonly string[], shared: boolean, optional: boolean): ResourceIssue[] {
  const where = `${type}.${path.join(".")}`;
  const refs = referencesAt(body, path);
  const candidates = shared ? refs.filter(({ ref }) => isPatientReference(ref)) : refs;
  if (candidates.length === 0) {
    if (optional) return [];
    return [issue("required", where, shared ? "must include a reference to the patient" : "a reference to the patient is required")];
  }
  const out: ResourceIssue[] = [];
  for (const { ref, at } of candidates) {
    if (!isPlainObject(ref)) continue; // the definitions pass has reported it
    if (ref.reference === undefined && ref.identifier === undefined) out.push(issue("required", at, "needs a reference or an identifier"));
    if (ref.type !== undefined && ref.type !== "Patient") out.push(issue("business-rule", `${at}.type`, "must be Patient"));
    if (isPlainObject(ref.identifier) && typeof ref.identifier.value !== "string") out.push(issue("required", `${at}.identifier.value`, "is required"));
  }
  return out;
}
