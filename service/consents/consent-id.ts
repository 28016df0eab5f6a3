import { AbiCoder, keccak256 } from "ethers";
import type { ConsentTermsDto } from "./consents.dto";

/** ConsentRegistry.consentIdOf: keccak256(abi.encode(terms…, nonce)). */
export function consentIdOf(t: ConsentTermsDto, nonce: bigint): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["address", "address", "uint256", "uint256", "uint8", "uint64", "uint64", "uint256"],
      [t.patient, t.grantee, t.categories, t.purposes, t.effect, t.validFrom, t.validUntil, nonce],
    ),
  );
}
