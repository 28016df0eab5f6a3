import { id, ZeroHash } from "ethers";

/** On-chain roles (contracts/Common.sol), by name. */
export const ROLES = {
  admin: ZeroHash,
  relayer: id("RELAYER_ROLE"),
  anchorer: id("ANCHORER_ROLE"),
  institution: id("INSTITUTION_ROLE"),
  regulator: id("REGULATOR_ROLE"),
  /** Administers the institution and regulator roles (ConsentRegistry v2). */
  registrar: id("REGISTRAR_ROLE"),
} as const;

export type RoleName = keyof typeof ROLES;

/**
 * What a caller may act as. Every role but `patient` is held on chain; `patient` means the account
 * enrolled with a custodian.
 */
export type Role = "admin" | "institution" | "regulator" | "relayer" | "patient";
