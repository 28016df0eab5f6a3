import { CATEGORIES, CATEGORY_SYSTEM } from "./vocabulary";

/**
 * Classes of data as FHIR Consent (`provision.class`) and HL7 LEAP's consult (`context.class`) name them,
 * and the data categories (docs/architecture.md §4) behind them. Two code systems:
 * - FHIR resource types (`http://hl7.org/fhir/resource-types`), the extensible binding of Consent.provision.class;
 * - the service's own category codes (`urn:consentry:category`).
 * Everything is derived from the shared category table, so a resource type added there is a class here too.
 */
export const RESOURCE_TYPE_SYSTEM = "http://hl7.org/fhir/resource-types";

export interface ClassCoding {
  system: string;
  code: string;
}

/** The resource type of a category table key ("Observation:laboratory" → "Observation"). */
const typeOfKey = (key: string): string => key.split(":")[0];

/** Every resource type some category holds, in table order. */
export function classifiedResourceTypes(): string[] {
  return [...new Set(CATEGORIES.flatMap((c) => (c.resources as readonly string[]).map(typeOfKey)))];
}

/** The bitmask of every category a resource type's records may fall in (0 for a type no category holds). */
export function categoriesOfResourceType(type: string): number {
  return CATEGORIES.reduce((mask, c) => ((c.resources as readonly string[]).some((key) => typeOfKey(key) === type) ? mask | (1 << c.bit) : mask), 0);
}

/** The categories a class coding names: a category code, or every category a resource type spans; 0 when unknown. */
export function categoriesOfClass(coding: ClassCoding): number {
  if (coding.system === CATEGORY_SYSTEM) {
    const category = CATEGORIES.find((c) => c.code === coding.code);
    return category ? 1 << category.bit : 0;
  }
  if (coding.system === RESOURCE_TYPE_SYSTEM) return categoriesOfResourceType(coding.code);
  return 0;
}

/**
 * Consent.provision.class for a consent covering `mask`: a resource type only when every category that type
 * may fall in is covered (a consent to laboratory results does not cover every Observation, so Observation is
 * named only alongside vital signs, imaging and every other Observation category), then the category codes,
 * which say exactly what is covered.
 */
export function provisionClasses(mask: number): ClassCoding[] {
  const types = classifiedResourceTypes().filter((type) => {
    const spans = categoriesOfResourceType(type);
    return spans !== 0 && (spans & ~mask) === 0;
  });
  return [
    ...types.map((code) => ({ system: RESOURCE_TYPE_SYSTEM, code })),
    ...CATEGORIES.filter((c) => mask & (1 << c.bit)).map((c) => ({ system: CATEGORY_SYSTEM, code: c.code })),
  ];
}

/** The category codes of a mask, as class codings. */
export const categoryClasses = (mask: number): ClassCoding[] =>
  CATEGORIES.filter((c) => mask & (1 << c.bit)).map((c) => ({ system: CATEGORY_SYSTEM, code: c.code }));
