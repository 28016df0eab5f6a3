import { categoryCodes, purposeCodes } from "../domain/vocabulary";
import { ZERO_ADDRESS, ZERO_HASH } from "./access-event";
import { ACTION_NAMES, AccessDecision, DECISION_NAMES, type AccessAction } from "../domain/access-codes";
import type { AccessEventViewDto, BatchViewDto } from "./audit.dto";
import type { AccessEventEntity, AnchorBatchEntity } from "./audit.entities";

export function toEventView(e: AccessEventEntity): AccessEventViewDto {
  return {
    id: e.id,
    seq: e.seq,
    time: new Date(e.timeMs).toISOString(),
    actor: e.actor,
    requester: e.requester,
    patient: e.patient === ZERO_ADDRESS ? null : e.patient,
    action: ACTION_NAMES[e.action as AccessAction],
    decision: DECISION_NAMES[e.decision as AccessDecision],
    categories: categoryCodes(e.categories),
    purposes: purposeCodes(e.purposes),
    consentId: e.consentId === ZERO_HASH ? null : e.consentId,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    breakGlass: e.decision === AccessDecision.BreakGlass,
    justification: e.justification,
    batchId: e.batchId,
  };
}

export function toBatchView(b: AnchorBatchEntity, chainId: number, contract: string): BatchViewDto {
  return {
    batchId: b.batchId,
    root: b.root,
    firstSeq: b.firstSeq,
    lastSeq: b.lastSeq,
    state: b.state,
    breakGlass: b.breakGlass,
    txHash: b.txHash,
    blockNumber: b.blockNumber,
    chainId,
    contract,
    eventsPruned: b.eventsPrunedAt !== null,
  };
}
