/**
 * A Patient resource as the service should serve it: carrying the patient's account as an identifier
 * (`urn:ietf:rfc:3986` | did:pkh), the identifier AuditEvents name the patient by (docs/balp.md), so a client
 * holding an AuditEvent finds the patient's records with `?patient=did:pkh:…`. For the record
 * store's read path to call; the stored resource is not changed.
 */
export function withAccountIdentifier<T extends { resourceType?: unknown; identifier?: unknown }>(resource: T, account: { system: string; value: string }): T {
  if (resource.resourceType !== "Patient") return resource;
  const identifiers = Array.isArray(resource.identifier) ? (resource.identifier as Array<{ system?: unknown; value?: unknown }>) : [];
  if (identifiers.some((i) => i?.system === account.system && i?.value === account.value)) return resource;
  return { ...resource, identifier: [...identifiers, { system: account.system, value: account.value }] };
}
