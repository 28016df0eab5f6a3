import { Injectable } from "@nestjs/common";
import { getAddress } from "ethers";
import type { Actor } from "../auth/actor";
import type { DecisionRequestDto, DecisionResponseDto } from "./consents.dto";
import { DecisionService } from "./decision.service";
import { purposeBit } from "./vocabulary";

/** The API's consent question ("may R see categories C of patient P for purpose U now?"). */
@Injectable()
export class ConsentDecisionsService {
  constructor(private readonly decisions: DecisionService) {}

  async ask(actor: Actor, dto: DecisionRequestDto): Promise<DecisionResponseDto> {
    const requester = getAddress(dto.requester ?? actor.address);
    const result = await this.decisions.decide({
      patient: dto.patient,
      requester,
      categories: dto.categories,
      purposes: purposeBit(dto.purpose),
    });
    return {
      decision: result.outcome,
      consentId: result.consentId,
      patient: getAddress(dto.patient),
      requester,
      categories: dto.categories,
      purpose: dto.purpose,
      decidedAt: result.at,
      basedOnBlock: result.basedOnBlock,
      obligations: [],
    };
  }
}
