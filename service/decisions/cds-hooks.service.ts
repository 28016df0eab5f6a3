import { Injectable } from "@nestjs/common";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { badRequest } from "../common/problem";
import type { Actor } from "../auth/actor";
import { AccessAction, DECISION_OF_OUTCOME } from "../domain/access-codes";
import { AccessLogService, type RequestFacts } from "../audit/access-log.service";
import { ChainAccounts } from "../domain/fhir-identity";
import { PatientRepository } from "../patients/patient.repository";
import type { CdsCard, LeapDecision } from "./cds-hooks.dto";
import { DecisionService } from "./decision.service";
import { ALL_CATEGORIES, CATEGORIES, CATEGORY_SYSTEM, PURPOSES, purposeBit, type DecisionOutcome } from "../domain/vocabulary";

export const CDS_SERVICE = {
  id: "patient-consent-consult",
  hook: "patient-consent-consult",
  title: "Consentry consent decision",
  description:
    "Whether an actor may receive a patient's data for a purpose, decided from the consents recorded on chain (HL7 LEAP consent decision service).",
  prefetch: {},
} as const;

const LEAP: Record<DecisionOutcome, LeapDecision> = { permit: "CONSENT_PERMIT", deny: "CONSENT_DENY", "no-consent": "NO_CONSENT" };

interface SystemValue {
  system?: string;
  value?: string;
}

/** HL7 LEAP's consent decision service shape over the same decision as POST /consent-decisions. */
@Injectable()
export class CdsHooksService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: ChainAccounts,
    private readonly patients: PatientRepository,
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
  ) {}

  async consult(actor: Actor, context: Record<string, unknown>, request: RequestFacts): Promise<{ cards: CdsCard[] }> {
    return this.accessLog.audited({ actor: actor.address, action: AccessAction.ConsentDecision, categories: 0, purposes: 0, request }, async (attempt) => {
      attempt.patient = await this.resolvePatient(context.patientId, actor.address);
      const requester = this.resolveActor(context.actor) ?? actor.address;
      attempt.requester = requester;
      attempt.purposes = this.purposes(context.purposeOfUse);
      attempt.categories = this.categories(context.class);
      const result = await this.decisions.decide({ patient: attempt.patient, requester, categories: attempt.categories, purposes: attempt.purposes });
      return {
        value: { cards: [this.card(result.outcome, result.consentId)] },
        outcome: { decision: DECISION_OF_OUTCOME[result.outcome], consentId: result.consentId, timeMs: result.timeMs },
      };
    });
  }

  private card(outcome: DecisionOutcome, consentId: string | null): CdsCard {
    const decision = LEAP[outcome];
    return {
      summary: decision,
      detail:
        outcome === "permit"
          ? "An active consent on chain permits this access."
          : outcome === "deny"
            ? "An active consent on chain denies this access."
            : "No active consent on chain covers this access.",
      indicator: outcome === "permit" ? "info" : "warning",
      source: { label: "Consentry", url: publicBaseUrl(this.config) },
      extension: {
        decision,
        ...(consentId ? { basedOn: `Consent/${consentId.slice(2)}` } : {}),
        obligations: [],
      },
    };
  }

  /** A did:pkh or address, or an identifier the caller itself enrolled: another custodian's identifiers never resolve. */
  private async resolvePatient(raw: unknown, caller: string): Promise<string> {
    const ids = asList<SystemValue>(raw);
    if (ids.length === 0) throw badRequest("invalid-cds-request", "context.patientId is required");
    for (const id of ids) {
      const account = typeof id?.value === "string" ? this.accounts.from(id.value) : undefined;
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
      const account = typeof id?.value === "string" ? this.accounts.from(id.value) : undefined;
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
