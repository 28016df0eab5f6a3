import { CATEGORIES, type CategoryCode } from "../domain/vocabulary";
import { unsupportedCategory, unsupportedResourceType } from "./record-problems";
import { isSupportedResourceType } from "./resource-rules";

export const OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category";
export const DIAGNOSTIC_SECTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0074";
export const LOINC_SYSTEM = "http://loinc.org";

export interface RecordCategory {
  bit: number;
  code: CategoryCode;
}

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

/** US Core's LOINC report categories (DiagnosticReport for report and note exchange). */
const LOINC_REPORT_SECTIONS: Readonly<Record<string, "LAB" | "imaging">> = { "LP29684-5": "imaging" };

/** Vocabulary key ("Type" or "Type:code") → category, from the shared table so bits never diverge. */
const BY_KEY = new Map<string, RecordCategory>(
  CATEGORIES.flatMap((c) => c.resources.map((key) => [key, { bit: c.bit, code: c.code }] as const)),
);

/**
 * The data category (docs/architecture.md §4) of a resource. Observation and DiagnosticReport are classified by
 * their `category` codings; every other supported type by its type alone. Throws a Problem for
 * unsupported types and for resources whose category is unknown or spans several categories.
 */
export function categoryOf(resource: unknown): RecordCategory {
  const type = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== "string" || !isSupportedResourceType(type)) throw unsupportedResourceType(String(type));
  const direct = BY_KEY.get(type);
  if (direct) return direct;
  const keys = categoryKeys(type, (resource as { category?: unknown }).category);
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

function categoryKeys(type: string, category: unknown): string[] {
  const codings = (Array.isArray(category) ? category : [])
    .flatMap((concept: { coding?: unknown }) => (Array.isArray(concept?.coding) ? concept.coding : []))
    .filter((c): c is { system: string; code: string } => typeof c?.system === "string" && typeof c?.code === "string");
  if (type === "Observation") {
    return codings.filter((c) => c.system === OBSERVATION_CATEGORY_SYSTEM).map((c) => `Observation:${c.code}`);
  }
  if (type === "DiagnosticReport") {
    return codings.flatMap((c) => {
      const table = c.system === DIAGNOSTIC_SECTION_SYSTEM ? DIAGNOSTIC_SECTIONS : c.system === LOINC_SYSTEM ? LOINC_REPORT_SECTIONS : {};
      const section = Object.hasOwn(table, c.code) ? table[c.code] : undefined;
      return section ? [`DiagnosticReport:${section}`] : [];
    });
  }
  return [];
}

function supportedKeys(type: string): string {
  if (type === "DiagnosticReport") return `${DIAGNOSTIC_SECTION_SYSTEM} codes ${Object.keys(DIAGNOSTIC_SECTIONS).join(", ")}, or ${LOINC_SYSTEM} LP29684-5`;
  const codes = [...BY_KEY.keys()].filter((k) => k.startsWith(`${type}:`)).map((k) => k.slice(type.length + 1));
  return `${OBSERVATION_CATEGORY_SYSTEM} codes ${codes.join(", ")}`;
}
