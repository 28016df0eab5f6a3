import { type ChainAccounts, URI_SYSTEM } from "../domain/fhir-identity";
import type { PatientIdentifier } from "../patients/enrolment.entity";
import { isPatientReference, referencesAt } from "./record-category";
import { unknownPatient } from "./record-problems";
import { RESOURCE_RULES } from "./resource-rules";
import { FHIR_ID, type FhirResource } from "./resource-validation";

/** One way a resource names its patient, still to be looked up. `path` is where it was found. */
export type PatientClaim =
  | { path: string; account: string }
  | { path: string; identifier: PatientIdentifier }
  | { path: string; patientRecordId: string };

export interface PatientClaims {
  claims: PatientClaim[];
  /**
   * Patient resources list identifiers of every kind (SSN, passport …) and only some are enrolled, so
   * one resolving claim suffices. A reference elsewhere names one patient: every claim must resolve.
   */
  all: boolean;
  path: string;
}

/** Reads the patient claims of a validated resource. Pure; `accounts` decides which did:pkh URIs are ours. */
export function patientClaims(resource: FhirResource, accounts: ChainAccounts): PatientClaims {
  const type = resource.resourceType;
  const rule = RESOURCE_RULES[type];
  if (rule.patient === null) {
    const identifiers = resource.identifier as Array<{ system?: string; value: string }>;
    const claims = identifiers.flatMap((identifier, i) => identifierClaim(identifier, `${type}.identifier[${i}]`, accounts) ?? []);
    return { claims, all: false, path: `${type}.identifier` };
  }
  const path = `${type}.${rule.patient.join(".")}`;
  const refs = referencesAt(resource, rule.patient).filter(({ ref }) => !rule.shared || isPatientReference(ref));
  const claims: PatientClaim[] = [];
  for (const { ref, at } of refs) {
    const { reference, identifier } = ref as { reference?: string; identifier?: { system?: string; value: string } };
    if (reference !== undefined) claims.push(referenceClaim(reference, `${at}.reference`));
    if (identifier !== undefined) {
      const claim = identifierClaim(identifier, `${at}.identifier`, accounts);
      if (!claim) throw unknownPatient(`${at}.identifier`, "an identifier without a system names no enrolled patient");
      claims.push(claim);
    }
  }
  return { claims, all: true, path };
}

/** An account (did:pkh on this chain, or a bare address) or an enrolled {system, value}; undefined if neither can apply. */
function identifierClaim(identifier: { system?: string; value: string }, path: string, accounts: ChainAccounts): PatientClaim | undefined {
  const { system, value } = identifier;
  if (typeof value !== "string") return undefined;
  if (system === undefined || system === URI_SYSTEM) {
    const account = accounts.from(value);
    if (account) return { path, account };
  }
  return system === undefined ? undefined : { path, identifier: { system, value } };
}

/**
 * `Patient/{id}` (a Patient record this custodian stored, or one earlier in the same transaction) or
 * `Patient?identifier=system|value` (a conditional reference to the patient enrolled with that identifier).
 */
export function referenceClaim(reference: string, path: string): PatientClaim {
  const literal = /^Patient\/([^/?#]+)$/.exec(reference);
  if (literal) {
    if (!FHIR_ID.test(literal[1])) throw unknownPatient(path, "not a valid Patient id");
    return { path, patientRecordId: literal[1] };
  }
  if (reference.startsWith("Patient?")) {
    const params = new URLSearchParams(reference.slice("Patient?".length));
    const token = params.get("identifier");
    const bar = token?.indexOf("|") ?? -1;
    if ([...params.keys()].length === 1 && token && bar > 0 && bar < token.length - 1) {
      return { path, identifier: { system: token.slice(0, bar), value: token.slice(bar + 1) } };
    }
    throw unknownPatient(path, "a conditional reference must be Patient?identifier=system|value");
  }
  throw unknownPatient(path, "must be Patient/{id} or Patient?identifier=system|value");
}
