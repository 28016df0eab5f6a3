import type { Role } from "../domain/roles";

export type { Role };

/** The authenticated caller: an EVM account and the roles its access token claims (read from chain at sign-in). */
export interface Actor {
  address: string;
  roles: Role[];
}
