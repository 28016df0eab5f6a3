import { CATEGORIES, type CategoryCode } from "../domain/vocabulary";
import { unsupportedCategory, unsupportedResourceType } from "./record-problems";
import { isDirectoryOnlyType, isSupportedResourceType, RESOURCE_RULES } from "./resource-rules";

export const OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category";
export const DIAGNOSTIC_SECTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0074";
export const LOINC_SYSTEM = "http://loinc.org";

export interface RecordCategory {
  /** The category bit (docs/architecture.md §4), or DIRECTORY_BIT for directory data. */
  bit: number;
  code: CategoryCode | "directory";
}

/** Directory data (Organization, Practitioner, a Device of no patient …): no patient, no consent category. */
/** Stored in the category column (CHECK 0-255), far above any consent category bit (0-11 on chain). */
export const DIRECTORY_BIT = 255;
export const DIRECTORY: RecordCategory = Object.freeze({ bit: DIRECTORY_BIT, code: "directory" });

export const isDirectory = (category: { bit: number } | number): boolean => (typeof category === "number" ? category : category.bit) === DIRECTORY_BIT;

/**
 * v2-0074 diagnostic service sections, by the vocabulary key they fall under. Laboratory
 * sub-disciplines count as laboratory results; radiology modalities as imaging. Sections whose data
 * is more sensitive than a routine lab result (cytogenetics, genetics, pathology) or that are neither
 * (cardiology, therapies, physician notes) are left out on purpose: filing them under a category the
 * patient consented to for something else would release more than was agreed.
 */
const DIAGNOSTIC_SECTIONS: Readonly<Record<string, "LAB" | "imaging">> = {
  LAB: "LAB", BG: "LAB", BLB: "LAB", CH: "LAB", HM: "LAB", IMM: "LAB", MB: "LAB", MCB: "LAB", MYC: "LAB",
  OSL: "LAB", SR: "LAB", TX: "LAB", URN: "LAB", VR: "LAB",
  RAD: "imaging", CT: "imaging", NMR: "imaging", NMS: "imaging", RUS: "imaging", RX: "imaging", XRC: "imaging",
  VUS: "imaging", OUS: "imaging", CUS: "imaging",
};

/**
 * LOINC report categories (US Core DiagnosticReport for report and note exchange) and the clinical-note
 * document types Synthea files its notes under. Radiology reports are imaging; cardiology and pathology
 * categories, and note types, mark clinical notes: documents.
 */
const LOINC_REPORT_SECTIONS: Readonly<Record<string, "imaging" | "note">> = {
  "LP29684-5": "imaging", // Radiology
  "LP29708-2": "note", // Cardiology
  "LP7839-6": "note", // Pathology
  "34117-2": "note", // History and physical note
  "51847-2": "note", // Evaluation + Plan note
  "11506-3": "note", // Progress note
  "18842-5": "note", // Discharge summary
  "11488-4": "note", // Consult note
  "28570-0": "note", // Procedure note
  "34111-5": "note", // Emergency department note
  "57133-1": "note", // Referral note
};

/** Vocabulary key ("Type" or "Type:code") → category, from the shared table so bits never diverge. */
const BY_KEY = new Map<string, RecordCategory>(
  CATEGORIES.flatMap((c) => c.resources.map((key) => [key, { bit: c.bit, code: c.code }] as const)),
);

/**
 * The data category (docs/architecture.md §4) of a resource, or DIRECTORY for directory data.
 * Observation and DiagnosticReport are classified by their `category` codings; every other type by its
 * type alone (Device, Schedule and Group by whether they name a patient). Throws a Problem for
 * unsupported types and for resources whose category is unknown or spans several categories.
 */
export function categoryOf(resource: unknown): RecordCategory {
  const type = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== "string" || !isSupportedResourceType(type)) throw unsupportedResourceType(String(type));
  if (isDirectoryOnlyType(type)) return DIRECTORY;
  const rule = RESOURCE_RULES[type];
  if (rule.directoryWithoutPatient && !namesPatient(resource as Record<string, unknown>, rule.patient!)) return DIRECTORY;
  const direct = BY_KEY.get(type);
  if (direct) return direct;
  const keys = categoryKeys(type, resource as Record<string, unknown>);
  const found = new Map<number, RecordCategory>();
  for (const key of keys) {
    const category = BY_KEY.get(key);
    if (category) found.set(category.bit, category);
  }
  if (found.size === 0) {
    throw unsupportedCategory(`${type}.category`, `no supported category; supported: ${supportedKeys(type)}`);
  }
  if (found.size > 1) {
    // One record has one category bit; serving it under either consent could release it against the other's deny.
    throw unsupportedCategory(`${type}.category`, `spans several data categories (${[...found.values()].map((c) => c.code).join(", ")})`);
  }
  return [...found.values()][0];
}

/** Every category a resource type may fall in: what a search of that type can touch. */
export function categoriesOfType(type: string): RecordCategory[] {
  if (!isSupportedResourceType(type)) throw unsupportedResourceType(type);
  const seen = new Map<number, RecordCategory>();
  for (const [key, category] of BY_KEY) if (key === type || key.startsWith(`${type}:`)) seen.set(category.bit, category);
  return [...seen.values()].sort((a, b) => a.bit - b.bit);
}

/** Whether the resource has a Patient reference (or identifier) at `path`. */
export function namesPatient(resource: Record<string, unknown>, path: readonly string[]): boolean {
  return referencesAt(resource, path).some(({ ref }) => isPatientReference(ref));
}

/** The references at `path`, arrays flattened, with their FHIRPath-style locations. */
export function referencesAt(resource: Record<string, unknown>, path: readonly string[]): Array<{ ref: Record<string, unknown>; at: string }> {
  const out: Array<{ ref: Record<string, unknown>; at: string }> = [];
  const walk = (node: unknown, rest: readonly string[], at: string): void => {
    if (node === undefined || node === null) return;
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, rest, `${at}[${i}]`));
    if (typeof node !== "object") return;
    if (rest.length === 0) {
      out.push({ ref: node as Record<string, unknown>, at });
      return;
    }
    walk((node as Record<string, unknown>)[rest[0]], rest.slice(1), `${at}.${rest[0]}`);
  };
  walk(resource[path[0]], path.slice(1), `${String(resource.resourceType)}.${path[0]}`);
  return out;
}

/** A Reference that names a Patient: `Patient/…`, `Patient?…`, a `urn:uuid:` the transaction maps to a Patient, type Patient, or a bare identifier. */
export function isPatientReference(ref: Record<string, unknown>): boolean {
  const reference = typeof ref.reference === "string" ? ref.reference : undefined;
  if (reference !== undefined) return /^Patient[/?]/.test(reference) || ref.type === "Patient";
  return ref.type === "Patient" || (ref.identifier !== undefined && (ref.type === undefined || ref.type === "Patient"));
}

function categoryKeys(type: string, resource: Record<string, unknown>): string[] {
  const category = resource.category;
  const codings = (Array.isArray(category) ? category : [])
    .flatMap((concept: { coding?: unknown }) => (Array.isArray(concept?.coding) ? concept.coding : []))
    .filter((c): c is { system: string; code: string } => typeof c?.system === "string" && typeof c?.code === "string");
  if (type === "Observation") {
    return codings.filter((c) => c.system === OBSERVATION_CATEGORY_SYSTEM).map((c) => `Observation:${c.code}`);
  }
  if (type === "DiagnosticReport") {
    const sections = codings.flatMap((c) => {
      const table: Readonly<Record<string, string>> = c.system === DIAGNOSTIC_SECTION_SYSTEM ? DIAGNOSTIC_SECTIONS : c.system === LOINC_SYSTEM ? LOINC_REPORT_SECTIONS : {};
      return Object.hasOwn(table, c.code) ? [table[c.code]] : [];
    });
    // A clinical note (US Core's note profile: text in presentedForm, no results) is a document whatever
    // specialties its categories name: Synthea files every note under radiology, cardiology and pathology.
    if (sections.includes("note") && resource.presentedForm !== undefined && resource.result === undefined) return ["DiagnosticReport:note"];
    return sections.map((s) => `DiagnosticReport:${s}`);
  }
  return [];
}

function supportedKeys(type: string): string {
  if (type === "DiagnosticReport") {
    return `${DIAGNOSTIC_SECTION_SYSTEM} codes ${Object.keys(DIAGNOSTIC_SECTIONS).join(", ")}, or ${LOINC_SYSTEM} ${Object.keys(LOINC_REPORT_SECTIONS).join(", ")}`;
  }
  const codes = [...BY_KEY.keys()].filter((k) => k.startsWith(`${type}:`)).map((k) => k.slice(type.length + 1));
  return `${OBSERVATION_CATEGORY_SYSTEM} codes ${codes.join(", ")}`;
}
