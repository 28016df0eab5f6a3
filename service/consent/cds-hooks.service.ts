import { Inject, Injectable } from "@nestjs/common";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { AppConfig } from "../config/app-config";
import { badRequest } from "../common/problem";
import type { Actor } from "../auth/actor";
import { AccessAction } from "../audit/access-event";
import { AccessLogService, type RequestFacts } from "../audit/access-log.service";
import { DECISION_OF_OUTCOME } from "../audit/decision-codes";
import { accountFrom } from "../fhir/fhir-identity";
import { PatientRepository } from "../patients/patient.repository";
import type { CdsCard, LeapDecision } from "./cds-hooks.dto";
import { DecisionService } from "./decision.service";
import { ALL_CATEGORIES, CATEGORIES, CATEGORY_SYSTEM, PURPOSES, purposeBit } from "./vocabulary";

export const CDS_SERVICE = {
  id: "patient-consent-consult",
  hook: "patient-consent-consult",
  title: "Consentry consent decision",
  description:
    "Whether an actor may receive a patient's data for a purpose, decided from the consents recorded on chain (HL7 LEAP consent decision service).",
  prefetch: {},
} as const;

const LEAP: Record<string, LeapDecision> = { permit: "CONSENT_PERMIT", deny: "CONSENT_DENY", "no-consent": "NO_CONSENT" };

interface SystemValue {
  system?: string;
  value?: string;
}

/** HL7 LEAP's consent decision service shape over the same decision as POST /consent-decisions. */
@Injectable()
export class CdsHooksService {
  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly patients: PatientRepository,
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
  ) {}

  async consult(actor: Actor, context: Record<string, unknown>, request: RequestFacts): Promise<{ cards: CdsCard[] }> {
    let patient: string | undefined;
    let categories = 0;
    let purposes = 0;
    let result;
    try {
      patient = await this.resolvePatient(context.patientId, actor.address);
      const requester = this.resolveActor(context.actor) ?? actor.address;
      purposes = this.purposes(context.purposeOfUse);
      categories = this.categories(context.class);
      result = await this.decisions.decide({ patient, requester, categories, purposes });
    } catch (error) {
      await this.accessLog.recordRefusal({ actor: actor.address, patient, action: AccessAction.ConsentDecision, categories, purposes, request }, error);
      throw error;
    }
    await this.accessLog.record({
      actor: actor.address,
      patient,
      action: AccessAction.ConsentDecision,
      categories,
      purposes,
      decision: DECISION_OF_OUTCOME[result.outcome],
      consentId: result.consentId,
      timeMs: result.timeMs,
      request,
    });
    const decision = LEAP[result.outcome];
    return {
      cards: [
        {
          summary: decision,
          detail:
            result.outcome === "permit"
              ? "An active consent on chain permits this access."
              : result.outcome === "deny"
                ? "An active consent on chain denies this access."
                : "No active consent on chain covers this access.",
          indicator: result.outcome === "permit" ? "info" : "warning",
          source: { label: "Consentry", url: `https://${this.config.AUTH_DOMAIN}` },
          extension: {
            decision,
            ...(result.consentId ? { basedOn: `Consent/${result.consentId.slice(2)}` } : {}),
            obligations: [],
          },
        },
      ],
    };
  }

  /** A did:pkh or address, or an identifier the caller itself enrolled: another custodian's identifiers never resolve. */
  private async resolvePatient(raw: unknown, caller: string): Promise<string> {
    const ids = asList<SystemValue>(raw);
    if (ids.length === 0) throw badRequest("invalid-cds-request", "context.patientId is required");
    for (const id of ids) {
      const account = typeof id?.value === "string" ? accountFrom(id.value, this.deployment.chainId) : undefined;
      if (account) return account;
    }
    for (const id of ids) {
      if (typeof id?.system !== "string" || typeof id?.value !== "string") continue;
      const matches = await this.patients.findByIdentifier({ system: id.system, value: id.value }, caller);
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw badRequest("ambiguous-patient", "The identifier names more than one patient");
    }
    throw badRequest("unknown-patient", "No enrolled patient has the given identifiers");
  }

  private resolveActor(raw: unknown): string | undefined {
    for (const id of asList<SystemValue>(raw)) {
      const account = typeof id?.value === "string" ? accountFrom(id.value, this.deployment.chainId) : undefined;
      if (account) return account;
    }
    if (raw !== undefined) throw badRequest("invalid-cds-request", "context.actor must name an account (did:pkh or address)");
    return undefined;
  }

  private purposes(raw: unknown): number {
    const codes = raw === undefined ? ["TREAT"] : asList<string>(raw);
    if (codes.length === 0 || codes.some((c) => !PURPOSES.some((p) => p.code === c))) {
      throw badRequest("invalid-purposes", "Unknown purposeOfUse", `Known: ${PURPOSES.map((p) => p.code).join(", ")}`);
    }
    return codes.reduce((mask, code) => mask | purposeBit(code), 0);
  }

  private categories(raw: unknown): number {
    if (raw === undefined) return ALL_CATEGORIES;
    const classes = asList<{ system?: string; code?: string }>(raw);
    let mask = 0;
    for (const c of classes) {
      const category = CATEGORIES.find((k) => k.code === c?.code && (c.system === undefined || c.system === CATEGORY_SYSTEM));
      if (!category) throw badRequest("invalid-categories", "Unknown data class", `Known codes (${CATEGORY_SYSTEM}): ${CATEGORIES.map((k) => k.code).join(", ")}`);
      mask |= 1 << category.bit;
    }
    if (mask === 0) throw badRequest("invalid-categories", "context.class is empty");
    return mask;
  }
}

function asList<T>(raw: unknown): T[] {
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]) as T[];
}
