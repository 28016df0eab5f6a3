import { id, ZeroHash } from "ethers";

/** On-chain roles (contracts/Common.sol). */
export const ROLES = {
  admin: ZeroHash,
  relayer: id("RELAYER_ROLE"),
  anchorer: id("ANCHORER_ROLE"),
  institution: id("INSTITUTION_ROLE"),
  regulator: id("REGULATOR_ROLE"),
} as const;

export type RoleName = keyof typeof ROLES;
