import type { DeploymentInfo } from "./deployment-file";
import type { Failure } from "./failures";
import { EXPORT_VERSIONS, LEAF_TYPES, LEAF_TYPES_V1, type HeaderLine } from "./trail-format";

/**
 * Does the header describe this deployment and the spec's formats? A version 1 export's `leafTypes` are
 * format 1's; a version 2 export names format 2's in `leafTypes` and format 1's in `leafTypesV1`.
 */
export function checkHeader(h: HeaderLine, d: DeploymentInfo): Failure | null {
  if (!EXPORT_VERSIONS.includes(h.version)) return mismatch(`export version ${h.version}, this verifier reads ${EXPORT_VERSIONS.join(" and ")}`);
  if (h.chainId !== d.chainId) return mismatch(`export is for chain ${h.chainId}, the deployment is on ${d.chainId}`);
  if (h.accessLedger !== d.accessLedger) return mismatch(`export's AccessLedger ${h.accessLedger} is not the deployment's ${d.accessLedger}`);
  if (h.consentRegistry !== d.consentRegistry) return mismatch(`export's ConsentRegistry ${h.consentRegistry} is not the deployment's ${d.consentRegistry}`);
  if (h.version === 1) {
    if (!same(h.leafTypes, LEAF_TYPES_V1)) return mismatch(`leafTypes ${JSON.stringify(h.leafTypes)} differ from format 1's`);
    return null;
  }
  if (!same(h.leafTypes, LEAF_TYPES)) return mismatch(`leafTypes ${JSON.stringify(h.leafTypes)} differ from format 2's`);
  if (!h.leafTypesV1) return mismatch("a version 2 export must name format 1's leaf types in leafTypesV1");
  if (!same(h.leafTypesV1, LEAF_TYPES_V1)) return mismatch(`leafTypesV1 ${JSON.stringify(h.leafTypesV1)} differ from format 1's`);
  return null;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((t, i) => t === b[i]);
const mismatch = (detail: string): Failure => ({ reason: "header-mismatch", detail });
