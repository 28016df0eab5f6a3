import { associatedData, IntegrityError, open, seal, type Sealed } from "./aes-gcm";

/** What a version's ciphertext is bound to: moving it to another record, version or patient breaks authentication. */
export interface RecordIdentity {
  resourceType: string;
  id: string;
  versionId: number;
  patient: string;
}

const recordAad = (r: RecordIdentity) =>
  associatedData("consentry:record:v1", r.resourceType, r.id, r.versionId, r.patient.toLowerCase());

const describe = (r: RecordIdentity) => `Record ${r.resourceType}/${r.id} version ${r.versionId}`;

export function sealRecord(dataKey: Buffer, identity: RecordIdentity, resource: object): Sealed {
  return seal(dataKey, Buffer.from(JSON.stringify(resource), "utf8"), recordAad(identity));
}

/**
 * Decrypts a version. The AAD already proves the pairing; checking the decrypted resource's own
 * type, id and versionId as well costs nothing and catches a bug that sealed the wrong body.
 */
export function openRecord(dataKey: Buffer, identity: RecordIdentity, sealed: Sealed): Record<string, unknown> {
  const resource = JSON.parse(open(dataKey, sealed, recordAad(identity), describe(identity)).toString("utf8"));
  const meta = resource?.meta as { versionId?: unknown } | undefined;
  if (resource?.resourceType !== identity.resourceType || resource.id !== identity.id || meta?.versionId !== String(identity.versionId)) {
    throw new IntegrityError(`${describe(identity)} decrypted to a different resource`);
  }
  return resource;
}
