import { Injectable } from "@nestjs/common";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { badRequest } from "../common/problem";
import type { Actor } from "../auth/actor";
import { AccessAction, AccessDecision, DECISION_OF_OUTCOME } from "../domain/access-codes";
import { AccessLogService, type AccessOutcome, type RequestFacts } from "../audit/access-log.service";
import { ZERO_ADDRESS } from "../audit/access-event";
import { categoriesOfClass, categoryClasses, type ClassCoding } from "../domain/consent-class";
import { ChainAccounts } from "../domain/fhir-identity";
import { PatientRepository } from "../patients/patient.repository";
import type { CdsCard, LeapDecision, LeapObligation } from "./cds-hooks.dto";
import { DecisionService } from "./decision.service";
import { parseConsultRequest, type LeapConsultContext, type LeapIdentifier } from "./leap-request";
import { ALL_CATEGORIES, PURPOSES, purposeBit, type DecisionOutcome } from "../domain/vocabulary";

export const CDS_SERVICE = {
  id: "patient-consent-consult",
  hook: "patient-consent-consult",
  title: "Patient Consent Consult",
  description:
    "Whether an actor may receive a patient's data for a purpose, decided from the consents recorded on chain (HL7 LEAP consent decision service).",
} as const;

const LEAP: Record<DecisionOutcome, LeapDecision> = { permit: "CONSENT_PERMIT", deny: "CONSENT_DENY", "no-consent": "NO_CONSENT" };

/** HL7 v3 ObligationPolicy REDACT, as LEAP names it. */
export const REDACT = { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "REDACT" } as const;

/** The consent categories LEAP's `context.category` may name: our consents are all patient-privacy consents. */
const CONSENT_CATEGORIES: readonly ClassCoding[] = [
  { system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" },
  { system: "http://loinc.org", code: "59284-0" },
];

/** What the consult is about, as far as the request names it. */
interface Question {
  patient: string | null;
  requester: string | null;
  purposes: number;
  /** Some purposeOfUse code is none of ours: no consent can permit it. */
  unknownPurpose: boolean;
  categories: number;
  /** The class codings asked for (absent: every category). */
  classes: ClassCoding[] | undefined;
  /** Some class names no data we hold under consent: it is withheld whatever the consents say. */
  unknownClasses: ClassCoding[];
  /** The request's category names no kind of consent this service keeps. */
  otherConsentCategory: boolean;
}

/**
 * HL7 LEAP's consent decision service (`patient-consent-consult`) over the consent state on chain. A question
 * naming several classes is answered as far as one consent permits it: CONSENT_PERMIT with a REDACT obligation
 * naming what to withhold. A patient nobody can find, or an actor that is no account, gets NO_CONSENT (no
 * consent can apply to them), as in LEAP. Every consult is one access event.
 */
@Injectable()
export class CdsHooksService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: ChainAccounts,
    private readonly patients: PatientRepository,
    private readonly decisions: DecisionService,
    private readonly accessLog: AccessLogService,
  ) {}

  async consult(actor: Actor, body: unknown, request: RequestFacts): Promise<{ cards: CdsCard[] }> {
    return this.accessLog.audited({ actor: actor.address, action: AccessAction.ConsentDecision, categories: 0, purposes: 0, request }, async (attempt) => {
      const context = parseConsultRequest(body);
      const q = await this.question(context, actor.address);
      attempt.patient = q.patient;
      // An actor known by no account is recorded as the zero address: the decision is about nobody we know.
      attempt.requester = q.requester ?? ZERO_ADDRESS;
      attempt.purposes = q.purposes;
      attempt.categories = q.categories;
      if (!q.patient || !q.requester || q.categories === 0 || q.purposes === 0 || q.otherConsentCategory) {
        // Nothing any consent could apply to: LEAP answers NO_CONSENT, without consulting the consents.
        return this.answer("no-consent", null, [], { decision: AccessDecision.NoConsent });
      }
      const result = await this.decisions.decideCoverage({ patient: q.patient, requester: q.requester, categories: q.categories, purposes: q.purposes });
      if (result.outcome === "permit" && q.unknownPurpose) {
        // A permit must cover every purpose asked; none of ours covers a purpose we do not know.
        return this.answer("no-consent", null, [], { decision: AccessDecision.NoConsent, timeMs: result.timeMs });
      }
      const obligations = result.outcome === "permit" ? this.redactions(q, result.withheld) : [];
      return this.answer(result.outcome, result.consentId, obligations, {
        decision: DECISION_OF_OUTCOME[result.outcome],
        consentId: result.consentId,
        categories: result.categories,
        timeMs: result.timeMs,
      });
    });
  }

  private answer(outcome: DecisionOutcome, consentId: string | null, obligations: LeapObligation[], recorded: AccessOutcome) {
    return { value: { cards: [this.card(outcome, consentId, obligations)] }, outcome: recorded };
  }

  private card(outcome: DecisionOutcome, consentId: string | null, obligations: LeapObligation[]): CdsCard {
    const decision = LEAP[outcome];
    const base = publicBaseUrl(this.config);
    return {
      summary: decision,
      detail:
        outcome === "permit"
          ? obligations.length
            ? "A patient consent on chain permits this action, except the data the obligations name."
            : "A patient consent on chain permits this action."
          : outcome === "deny"
            ? "A patient consent on chain denies this action."
            : "No applicable consent was found.",
      indicator: outcome === "permit" ? "info" : outcome === "deny" ? "critical" : "warning",
      source: { label: "Consentry", url: base },
      extension: {
        decision,
        obligations,
        // The Consent as this service's FHIR API serves it (GET /fhir/Consent), absolute as LEAP gives it.
        ...(consentId ? { basedOn: `${base}/fhir/Consent/${consentId.slice(2)}` } : {}),
      },
    };
  }

  /**
   * REDACT what a partial permit withholds: each class asked for whose data is all withheld (as it was asked),
   * then the category codes of every withheld category, so a client that asked by resource type also learns
   * which part of a type spanning several categories (Observation, DiagnosticReport) to withhold.
   */
  private redactions(q: Question, withheld: number): LeapObligation[] {
    const codes: ClassCoding[] = [...q.unknownClasses];
    for (const coding of q.classes ?? []) {
      const mask = categoriesOfClass(coding);
      if (mask !== 0 && (mask & ~withheld) === 0) codes.push(coding);
    }
    codes.push(...categoryClasses(withheld));
    const unique = codes.filter((c, i) => codes.findIndex((o) => o.system === c.system && o.code === c.code) === i);
    return unique.length ? [{ id: { ...REDACT }, parameters: { codes: unique } }] : [];
  }

  private async question(context: LeapConsultContext, caller: string): Promise<Question> {
    const classes = context.class && context.class.length > 0 ? context.class : undefined;
    const known = (classes ?? []).map((c) => categoriesOfClass(c));
    const codes = context.purposeOfUse ?? ["TREAT"];
    const ours = codes.filter((code) => PURPOSES.some((p) => p.code === code));
    return {
      patient: await this.resolvePatient(context.patientId, caller),
      requester: this.resolveActor(context.actor),
      purposes: ours.reduce((mask, code) => mask | purposeBit(code), 0),
      unknownPurpose: ours.length < codes.length,
      categories: classes ? known.reduce((mask, m) => mask | m, 0) : ALL_CATEGORIES,
      classes,
      unknownClasses: (classes ?? []).filter((_, i) => known[i] === 0),
      otherConsentCategory: !!context.category && !context.category.some((c) => CONSENT_CATEGORIES.some((k) => k.system === c.system && k.code === c.code)),
    };
  }

  /**
   * A did:pkh or address, or an identifier the caller itself enrolled the patient with: another custodian's
   * identifiers never resolve, so they tell the caller nothing. None found: null (NO_CONSENT, as in LEAP).
   */
  private async resolvePatient(ids: LeapIdentifier[], caller: string): Promise<string | null> {
    for (const id of ids) {
      const account = this.accounts.from(id.value);
      if (account) return account;
    }
    for (const id of ids) {
      if (id.system === undefined) continue;
      const matches = await this.patients.findByIdentifier({ system: id.system, value: id.value }, caller);
      if (matches.length === 1) return matches[0];
      // Enrolment refuses an identifier linked to two patients: more than one is corrupt data, refused.
      if (matches.length > 1) throw badRequest("ambiguous-patient", "The identifier names more than one patient");
    }
    return null;
  }

  /** The actor's account (did:pkh or address); an actor known only by other identifiers matches no consent. */
  private resolveActor(ids: LeapIdentifier[]): string | null {
    for (const id of ids) {
      const account = this.accounts.from(id.value);
      if (account) return account;
    }
    return null;
  }
}
