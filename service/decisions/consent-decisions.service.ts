import { Injectable } from "@nestjs/common";
import type { Actor } from "../auth/actor";
import { AccessLogService, type RequestFacts } from "../audit/access-log.service";
import { AccessAction, DECISION_OF_OUTCOME } from "../domain/access-codes";
import { purposeBit } from "../domain/vocabulary";
import type { DecisionRequestDto, DecisionResponseDto } from "./decisions.dto";
import { DecisionService } from "./decision.service";
import { checksummed } from "../domain/checksum";

/** The API's consent question ("may R see categories C of patient P for purpose U now?"). */
@Injectable()
export class ConsentDecisionsService {
  constructor(
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
  ) {}

  /** Answers the question and records it (who asked about whom, and the answer) before replying. */
  async ask(actor: Actor, dto: DecisionRequestDto, request: RequestFacts): Promise<DecisionResponseDto> {
    const requester = checksummed(dto.requester ?? actor.address);
    const purposes = purposeBit(dto.purpose);
    const attempt = { actor: actor.address, requester, patient: dto.patient, action: AccessAction.ConsentDecision, categories: dto.categories, purposes, request };
    return this.accessLog.audited(attempt, async () => {
      const result = await this.decisions.decide({ patient: dto.patient, requester, categories: dto.categories, purposes });
      return {
        value: {
          decision: result.outcome,
          consentId: result.consentId,
          patient: checksummed(dto.patient),
          requester,
          categories: dto.categories,
          purpose: dto.purpose,
          decidedAt: result.at,
          basedOnBlock: result.basedOnBlock,
          obligations: [],
        },
        outcome: { decision: DECISION_OF_OUTCOME[result.outcome], consentId: result.consentId, timeMs: result.timeMs },
      };
    });
  }
}
