/** The trail's fixed vocabulary: no DOM, so the leaf rules can be tested outside a browser. */

/** A category or purpose as /.well-known/consentry lists it. */
export interface Code {
  bit: number;
  mask: number;
  code: string;
  display: string;
}

/** Access actions and decisions by their anchored numbers (docs/access-trail.md); part of the leaf format. */
export const ACTIONS: Record<string, number> = {
  "record.read": 1,
  "record.search": 2,
  "record.write": 3,
  "consent.decision": 4,
  "consent.grant": 5,
  "consent.revoke": 6,
  "patient.erase": 7,
};

export const DECISIONS: Record<string, number> = {
  "no-consent": 0,
  permit: 1,
  deny: 2,
  self: 3,
  "break-glass": 4,
  unavailable: 5,
  rejected: 6,
  recorded: 7,
};
