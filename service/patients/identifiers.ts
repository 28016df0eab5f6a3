import { keccak256, toUtf8Bytes } from "ethers";
import type { PatientIdentifier } from "./enrolment.entity";

/**
 * The hash a patient signs in an Enrolment: keccak256 of the identifiers as a JSON array of
 * [system, value] pairs sorted by system then value, so the order a client lists them in is irrelevant.
 */
export function identifiersHash(identifiers: readonly PatientIdentifier[]): string {
  const pairs = identifiers
    .map((i) => [i.system, i.value] as const)
    .sort(([s1, v1], [s2, v2]) => (s1 === s2 ? (v1 < v2 ? -1 : v1 > v2 ? 1 : 0) : s1 < s2 ? -1 : 1));
  return keccak256(toUtf8Bytes(JSON.stringify(pairs)));
}
