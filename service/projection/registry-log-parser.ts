import type { Interface, Log } from "ethers";
import type { RegistryEvent } from "./registry-events";

/** Turns raw ConsentRegistry logs into typed events; logs of other events are skipped. */
export function parseRegistryLogs(iface: Interface, logs: readonly Log[], timestamps: Map<number, number>): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  for (const log of logs) {
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) continue;
    const at = { blockNumber: log.blockNumber, logIndex: log.index };
    const a = parsed.args;
    switch (parsed.name) {
      case "ConsentGranted":
        events.push({
          kind: "ConsentGranted",
          ...at,
          txHash: log.transactionHash,
          blockTimestamp: timestamps.get(log.blockNumber)!,
          consentId: a.consentId,
          patient: a.patient,
          grantee: a.grantee,
          categories: Number(a.categories),
          purposes: Number(a.purposes),
          effect: Number(a.effect),
          validFrom: Number(a.validFrom),
          validUntil: Number(a.validUntil),
          nonce: a.nonce.toString(),
        });
        break;
      case "ConsentRevoked":
        events.push({ kind: "ConsentRevoked", ...at, txHash: log.transactionHash, consentId: a.consentId, revokedAt: Number(a.revokedAt) });
        break;
      case "RoleGranted":
      case "RoleRevoked":
        events.push({ kind: parsed.name, ...at, blockTimestamp: timestamps.get(log.blockNumber)!, role: a.role, account: a.account });
        break;
    }
  }
  return events;
}
