/** ConsentRegistry facts the indexer reads from logs, as a discriminated union. */
export type RegistryEvent =
  | {
      kind: "ConsentGranted";
      blockNumber: number;
      logIndex: number;
      txHash: string;
      blockTimestamp: number;
      consentId: string;
      patient: string;
      grantee: string;
      categories: number;
      purposes: number;
      effect: number;
      validFrom: number;
      validUntil: number;
      nonce: string;
    }
  | {
      kind: "ConsentRevoked";
      blockNumber: number;
      logIndex: number;
      txHash: string;
      consentId: string;
      revokedAt: number;
    }
  | {
      kind: "RoleGranted" | "RoleRevoked";
      blockNumber: number;
      logIndex: number;
      blockTimestamp: number;
      role: string;
      account: string;
    };

export interface BlockRef {
  number: number;
  hash: string;
  parentHash: string;
}
