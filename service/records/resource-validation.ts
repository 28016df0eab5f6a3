import { assertFhirJson, isPlainObject } from "./json-shape";
import { invalidResource, unsupportedResourceType } from "./record-problems";
import { type ElementKind, isSupportedResourceType, RESOURCE_RULES, type ResourceRule } from "./resource-rules";

/** A resource that passed validation: a plain JSON object whose `resourceType` is a supported type. */
export type FhirResource = Record<string, unknown> & { resourceType: string; id?: string };

/** FHIR `id`: 1–64 of letters, digits, `-` and `.` (R4 §2.24.0.1). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^[^\s]+( [^\s]+)*$/;
/** FHIR R4 dateTime. */
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;

/**
 * Structural validation of a resource sent for `type` (the type in the URL): generic FHIR JSON rules,
 * the id syntax, the type's required elements and a patient reference. Not a full profile validator:
 * it checks what Consentry relies on (classification, ownership) and what FHIR marks mandatory.
 * Throws `unsupported-resource-type` or `invalid-resource` Problems.
 */
export function validateResource(type: string, body: unknown): FhirResource {
  if (!isSupportedResourceType(type)) throw unsupportedResourceType(type);
  if (!isPlainObject(body)) throw invalidResource(type, "the body must be a JSON object");
  if (body.resourceType !== type) {
    throw invalidResource(`${type}.resourceType`, `must be "${type}" (got ${JSON.stringify(body.resourceType) ?? "nothing"})`);
  }
  assertFhirJson(body, type);
  if (body.id !== undefined && (typeof body.id !== "string" || !FHIR_ID.test(body.id))) {
    throw invalidResource(`${type}.id`, "must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'");
  }
  if (body.meta !== undefined && !isPlainObject(body.meta)) throw invalidResource(`${type}.meta`, "must be an object");
  const rule = RESOURCE_RULES[type];
  for (const [name, kind] of Object.entries(rule.required)) {
    if (body[name] === undefined) throw invalidResource(`${type}.${name}`, "is required");
    checkKind(body[name], kind, `${type}.${name}`);
  }
  for (const [choice, variants] of Object.entries(rule.choices ?? {})) {
    const present = Object.keys(variants).filter((name) => body[name] !== undefined);
    if (present.length !== 1) {
      throw invalidResource(`${type}.${choice}[x]`, `exactly one of ${Object.keys(variants).join(", ")} is required`);
    }
    checkKind(body[present[0]], variants[present[0]], `${type}.${present[0]}`);
  }
  checkPatientElement(body, type, rule);
  checkContained(body.contained, type);
  return body as FhirResource;
}

function checkPatientElement(body: Record<string, unknown>, type: string, rule: ResourceRule): void {
  if (rule.patient === null) return;
  const path = `${type}.${rule.patient}`;
  const ref = body[rule.patient];
  if (ref === undefined) throw invalidResource(path, "a reference to the patient is required");
  checkKind(ref, "Reference", path);
  const { reference, identifier, type: refType } = ref as { reference?: string; identifier?: unknown; type?: unknown };
  if (reference === undefined && identifier === undefined) throw invalidResource(path, "needs a reference or an identifier");
  if (refType !== undefined && refType !== "Patient") throw invalidResource(`${path}.type`, "must be Patient");
}

/**
 * Contained resources travel inside their container's ciphertext and category. One that is itself a
 * record type (a contained Patient in an Observation, say) would be released under the wrong consent.
 */
function checkContained(contained: unknown, type: string): void {
  if (contained === undefined) return;
  if (!Array.isArray(contained)) throw invalidResource(`${type}.contained`, "must be an array");
  contained.forEach((item, i) => {
    const path = `${type}.contained[${i}]`;
    if (!isPlainObject(item) || typeof item.resourceType !== "string") throw invalidResource(path, "must be a resource");
    if (isSupportedResourceType(item.resourceType)) {
      throw invalidResource(`${path}.resourceType`, `a contained ${item.resourceType} must be stored as a record of its own`);
    }
  });
}

function checkKind(value: unknown, kind: ElementKind, path: string): void {
  if (typeof kind !== "string") {
    if (typeof value !== "string" || !kind.includes(value)) throw invalidResource(path, `must be one of ${kind.join(", ")}`);
    return;
  }
  if (kind.endsWith("[]")) {
    if (!Array.isArray(value)) throw invalidResource(path, "must be an array");
    value.forEach((item, i) => checkKind(item, kind.slice(0, -2) as ElementKind, `${path}[${i}]`));
    return;
  }
  switch (kind) {
    case "string":
      if (typeof value !== "string") throw invalidResource(path, "must be a string");
      return;
    case "code":
      if (typeof value !== "string" || !CODE.test(value)) throw invalidResource(path, "must be a code");
      return;
    case "dateTime":
      if (typeof value !== "string" || !DATE_TIME.test(value)) throw invalidResource(path, "must be a FHIR dateTime");
      return;
    case "Coding":
      return checkCoding(value, path);
    case "CodeableConcept": {
      const concept = object(value, path);
      if (concept.coding === undefined && concept.text === undefined) throw invalidResource(path, "needs coding or text");
      if (concept.coding !== undefined) {
        if (!Array.isArray(concept.coding)) throw invalidResource(`${path}.coding`, "must be an array");
        concept.coding.forEach((c, i) => checkCoding(c, `${path}.coding[${i}]`));
      }
      optional(concept, "text", "string", path);
      return;
    }
    case "Period": {
      const period = object(value, path);
      optional(period, "start", "dateTime", path);
      optional(period, "end", "dateTime", path);
      return;
    }
    case "Reference": {
      const ref = object(value, path);
      optional(ref, "reference", "string", path);
      optional(ref, "type", "string", path);
      optional(ref, "display", "string", path);
      if (ref.identifier !== undefined) checkIdentifier(ref.identifier, `${path}.identifier`);
      return;
    }
    case "Identifier":
      return checkIdentifier(value, path);
    case "DocumentContent": {
      const content = object(value, path);
      if (content.attachment === undefined) throw invalidResource(`${path}.attachment`, "is required");
      object(content.attachment, `${path}.attachment`);
      return;
    }
  }
}

function checkCoding(value: unknown, path: string): void {
  const coding = object(value, path);
  optional(coding, "system", "string", path);
  optional(coding, "code", "code", path);
  optional(coding, "display", "string", path);
}

function checkIdentifier(value: unknown, path: string): void {
  const identifier = object(value, path);
  optional(identifier, "system", "string", path);
  if (identifier.value === undefined) throw invalidResource(`${path}.value`, "is required");
  checkKind(identifier.value, "string", `${path}.value`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidResource(path, "must be an object");
  return value;
}

function optional(parent: Record<string, unknown>, name: string, kind: ElementKind, path: string): void {
  if (parent[name] !== undefined) checkKind(parent[name], kind, `${path}.${name}`);
}
