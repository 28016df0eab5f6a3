import { invalidResource } from "./record-problems";

/** Bounds on one stored resource: generous for real records (a Synthea note is ~5 kB), tight enough to stop abuse. */
export const MAX_RESOURCE_BYTES = 1024 * 1024;
export const MAX_DEPTH = 32;
export const MAX_NODES = 100_000;

/** FHIR JSON element names: camelCase, with `_` for a primitive's extensions. Also keeps `__proto__` out. */
const ELEMENT_NAME = /^_?[A-Za-z][A-Za-z0-9]*$/;

/**
 * The FHIR JSON rules every resource obeys whatever its type (FHIR R4 §2.6.2): plain objects, no
 * empty objects, arrays or strings, no nulls except inside arrays (where they pad primitive
 * extensions), finite numbers only; plus Consentry's size, depth and node bounds. Throws an
 * `invalid-resource` Problem naming the first offending path.
 */
export function assertFhirJson(resource: Record<string, unknown>, root: string): void {
  let nodes = 0;
  const visit = (value: unknown, path: string, depth: number, inArray: boolean): void => {
    if (++nodes > MAX_NODES) throw invalidResource(root, `more than ${MAX_NODES} elements`);
    if (depth > MAX_DEPTH) throw invalidResource(path, `nested deeper than ${MAX_DEPTH} levels`);
    if (value === null) {
      if (!inArray) throw invalidResource(path, "null is not allowed");
      return;
    }
    switch (typeof value) {
      case "string":
        if (value.length === 0) throw invalidResource(path, "empty strings are not allowed");
        return;
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(value)) throw invalidResource(path, "numbers must be finite");
        return;
      case "object":
        break;
      default:
        throw invalidResource(path, `a ${typeof value} is not JSON`);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw invalidResource(path, "empty arrays are not allowed");
      value.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1, true));
      return;
    }
    if (!isPlainObject(value)) throw invalidResource(path, "must be a JSON object");
    const keys = Object.keys(value);
    if (keys.length === 0) throw invalidResource(path, "empty objects are not allowed");
    for (const key of keys) {
      if (!ELEMENT_NAME.test(key)) throw invalidResource(`${path}.${key}`, "not a FHIR element name");
      visit(value[key], `${path}.${key}`, depth + 1, false);
    }
  };
  visit(resource, root, 0, false);
  const bytes = Buffer.byteLength(JSON.stringify(resource), "utf8");
  if (bytes > MAX_RESOURCE_BYTES) throw invalidResource(root, `${bytes} bytes exceeds the limit of ${MAX_RESOURCE_BYTES}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
