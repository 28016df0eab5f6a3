import { getAddress } from "ethers";
import type { RoleChange } from "../projection/consent-projection.repository";
import type { InstitutionNameEntity } from "./institution-name.entity";
import type { InstitutionDto } from "./institutions.dto";

/** A directory entry from the indexed role change and the recorded name (either may be missing). */
export function toInstitution(account: string, change: RoleChange | undefined, name: InstitutionNameEntity | undefined): InstitutionDto {
  return {
    address: getAddress(account),
    name: name?.name ?? null,
    role: "institution",
    holdsRole: change?.granted ?? false,
    since: change?.blockTimestamp ?? null,
    block: change?.blockNumber ?? null,
  };
}
