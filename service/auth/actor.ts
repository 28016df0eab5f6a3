/** What an authenticated caller may act as. Institutions, regulators and admins hold the role on chain. */
export type Role = "admin" | "institution" | "regulator" | "relayer" | "patient";

/** The authenticated caller: an EVM account and the roles it held at sign-in. */
export interface Actor {
  address: string;
  roles: Role[];
}

export const hasRole = (actor: Actor, role: Role): boolean => actor.roles.includes(role);
