import { Injectable, Logger } from "@nestjs/common";
import type { Hl7Message } from "@medplum/core";
import { AccessLogService, type RequestFacts } from "../audit/access-log.service";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { Problem } from "../common/problem";
import { redact } from "../common/redact";
import { AccessAction, AccessDecision } from "../domain/access-codes";
import { ChainAccounts } from "../domain/fhir-identity";
import { PatientRepository } from "../patients/patient.repository";
import { RecordReleaseService } from "../record-release/record-release.service";
import { identifiers, parseEr7, text } from "./er7";
import { buildAck, type AckCode } from "./hl7v2-ack";
import { Hl7Failure } from "./hl7v2-failure";
import { orderGroups, patientFromPid, resourcesOfOrder, type FhirJson, type PatientIdentity } from "./hl7v2-mapping";

/** The messages accepted, by MSH-9 (message code ^ trigger event). */
const SUPPORTED: Readonly<Record<string, "adt" | "oru">> = { "ADT^A04": "adt", "ADT^A08": "adt", "ORU^R01": "oru" };

/** How a message arrived: over HTTP (`POST /hl7v2`) or an MLLP connection. Hashed into each access event, never stored. */
export type Transport = "http" | "mllp";

export interface Hl7Answer {
  ack: string;
  code: AckCode;
  /** The resources stored (type/id), for an accepted message. */
  stored: string[];
}

/**
 * HL7 v2 in: ADT^A04/A08 and ORU^R01 from a custodian, parsed with Medplum's HL7 v2 parser, answered with
 * an ACK. The patient is matched by PID-3 against the custodian's own enrolments (keyed-hash lookups);
 * results are stored as FHIR Observation/DiagnosticReport (ADT: Patient) through RecordReleaseService as
 * the custodian, so every write is consent-scoped, encrypted and in the access trail like any FHIR write —
 * and read back only under consent. A refused message (AE/AR) about which the custodian wrote is one
 * refused write in the access trail. Nothing of the message's content reaches the logs.
 */
@Injectable()
export class Hl7v2Service {
  private readonly logger = new Logger(Hl7v2Service.name);

  constructor(
    private readonly release: RecordReleaseService,
    private readonly patients: PatientRepository,
    private readonly accounts: ChainAccounts,
    private readonly accessLog: AccessLogService,
    private readonly authority: AuthorityService,
  ) {}

  /**
   * The answer to `raw` from the custodian `actor`: the ACK of an HL7 v2 message (accepted or not), or
   * `notHl7` when the text has no readable MSH segment — nothing to acknowledge, nothing recorded (HTTP
   * answers it 400; MLLP with an AR whose MSA-2 is empty).
   */
  async receiveText(actor: Actor, raw: string, transport: Transport): Promise<Hl7Answer | { notHl7: Hl7Failure }> {
    let message: Hl7Message;
    try {
      message = parseEr7(raw);
    } catch (error) {
      const failure = error instanceof Hl7Failure ? error : new Hl7Failure("AR", "not-hl7v2", "The message could not be parsed", { code: "100" });
      const header = headerOnly(raw);
      if (!header) return { notHl7: failure };
      // A readable MSH: the refusal is acknowledged to its control id and recorded like any refused write.
      await this.accessLog.record({ actor: actor.address, action: AccessAction.RecordWrite, decision: AccessDecision.Rejected, patient: null, request: this.facts(transport, raw, null) });
      this.logger.log({ message: "HL7 v2 message refused", transport, ack: failure.ack, reason: failure.slug, stored: 0 });
      return { ack: buildAck(header, failure.ack, failure), code: failure.ack, stored: [] };
    }
    return this.receive(actor, message, raw, transport);
  }

  /** The ACK of a failure outside the message's content (MLLP, where there is no other way to answer), addressed to its MSH when readable. */
  reject(failure: Hl7Failure, raw?: string): string {
    return buildAck(raw === undefined ? undefined : headerOnly(raw), failure.ack, failure);
  }

  /** What the access log hashes for a write from a message (never stored). */
  private facts(transport: Transport, raw: string, resource: string | null): RequestFacts {
    return { method: "POST", path: transport === "http" ? "/hl7v2" : "mllp:/hl7v2", body: { message: raw, resource } };
  }

  /** The ACK of a message the custodian `actor` sent (an institution, authenticated by its token or its MLLP client certificate). */
  async receive(actor: Actor, message: Hl7Message, raw: string, transport: Transport): Promise<Hl7Answer> {
    const msh = message.header;
    const type = `${text(msh, 9, 1)}^${text(msh, 9, 2)}`.toUpperCase();
    const kind = Object.hasOwn(SUPPORTED, type) ? SUPPORTED[type] : undefined;
    const facts = (resource: string | null) => this.facts(transport, raw, resource);
    const refusedWrite = { actor: actor.address, action: AccessAction.RecordWrite, resourceType: kind === "adt" ? "Patient" : kind === "oru" ? "Observation" : null, resourceId: null };
    const stored: string[] = [];
    let writing = false;
    try {
      if (!kind) {
        throw new Hl7Failure("AR", "unsupported-message-type", `MSH-9 must be one of ${Object.keys(SUPPORTED).join(", ")}`, { code: text(msh, 9, 1).toUpperCase() === "ADT" || text(msh, 9, 1).toUpperCase() === "ORU" ? "201" : "200", location: "MSH^1^9" });
      }
      if (!text(msh, 10)) throw new Hl7Failure("AR", "required-field-missing", "MSH-10 (message control id) is required", { code: "101", location: "MSH^1^10" });
      // Training and debugging messages (MSH-11 T, D) must not become a patient's records.
      const processing = text(msh, 11).toUpperCase();
      if (processing && processing !== "P") throw new Hl7Failure("AR", "unsupported-processing-id", "MSH-11 must be P (production): training and debugging messages are not stored", { code: "202", location: "MSH^1^11" });
      const version = text(msh, 12);
      if (version && !/^2\.[1-9](\.\d+)?$/.test(version)) throw new Hl7Failure("AR", "unsupported-version", "MSH-12 must name an HL7 v2.x version", { code: "203", location: "MSH^1^12" });
      // Writes need the role on chain now; the ACK says so rather than a failed write per resource.
      if (!this.authority.actorHolds(actor, "institution")) throw new Hl7Failure("AR", "role-required", "Only a registered institution can send HL7 v2 messages", { code: "207" });
      const pids = message.getAllSegments("PID");
      if (pids.length === 0) throw new Hl7Failure("AE", "required-segment-missing", "The message has no PID segment", { code: "100", location: "PID" });
      if (pids.length > 1) throw new Hl7Failure("AR", "several-patients", "One message may name one patient (one PID segment)", { code: "100", location: "PID^2" });
      const who = await this.match(actor.address, pids[0]);
      writing = true;
      if (kind === "adt") {
        const patient = patientFromPid(pids[0], who);
        await this.store(actor, patient, facts, stored);
      } else {
        const groups = orderGroups(message);
        if (groups.length === 0) throw new Hl7Failure("AE", "required-segment-missing", "An ORU^R01 needs at least one OBR with its OBX results", { code: "100", location: "OBR" });
        // Every resource is mapped before the first is stored: a mapping error stores nothing.
        const mapped = groups.map((g) => resourcesOfOrder(g, who, text(msh, 10)));
        for (const { observations, report } of mapped) {
          for (const observation of observations) await this.store(actor, observation, facts, stored);
          await this.store(actor, report, facts, stored);
        }
      }
      this.logger.log({ message: "HL7 v2 message accepted", type, transport, stored: stored.length });
      return { ack: buildAck(message, "AA"), code: "AA", stored };
    } catch (error) {
      const failure = this.failureOf(error);
      // A failure from the record store was recorded by its audited path already; anything refused before it is recorded here.
      if (!(error instanceof WriteFailure)) {
        await this.accessLog.record({ ...refusedWrite, patient: null, decision: isUnavailable(error) ? AccessDecision.Unavailable : AccessDecision.Rejected, request: facts(null) });
      }
      this.logger.log({ message: "HL7 v2 message refused", type: kind ? type : "other", transport, ack: failure.ack, reason: failure.slug, stored: stored.length, writing });
      return { ack: buildAck(message, failure.ack, failure), code: failure.ack, stored };
    }
  }

  /**
   * The enrolled patient PID-3 names for this custodian: its identifiers whose assigning authority gives
   * a system (an OID or a URI), looked up by keyed hash among this custodian's enrolments only. None →
   * AR (not enrolled: the custodian may not write for them); two different patients → AR.
   */
  private async match(custodian: string, pid: Parameters<typeof identifiers>[0]): Promise<PatientIdentity> {
    const ids = identifiers(pid, 3);
    if (ids.length === 0) {
      throw new Hl7Failure("AR", "unknown-patient", "PID-3 has no identifier whose assigning authority (CX-4: an ISO OID, a URI or a UUID) names its system", { code: "204", location: "PID^1^3" });
    }
    const found = new Set<string>();
    for (const { system, value } of ids) for (const patient of await this.patients.findByIdentifier({ system, value }, custodian)) found.add(patient.toLowerCase());
    if (found.size === 0) throw new Hl7Failure("AR", "patient-not-enrolled", "No identifier in PID-3 names a patient enrolled with this custodian", { code: "204", location: "PID^1^3" });
    if (found.size > 1) throw new Hl7Failure("AR", "ambiguous-patient", "The identifiers in PID-3 name different patients", { code: "205", location: "PID^1^3" });
    const [patient] = found;
    return { account: this.accounts.identifier(patient), custodian };
  }

  /** Stores one resource as the custodian through the consent-scoped, access-logged record store (create or new version under its stable id). */
  private async store(actor: Actor, resource: FhirJson, facts: (resource: string) => RequestFacts, stored: string[]): Promise<void> {
    const ref = `${resource.resourceType}/${resource.id}`;
    try {
      await this.release.update(actor, resource.resourceType, resource.id, resource, undefined, facts(ref));
    } catch (error) {
      throw new WriteFailure(error);
    }
    stored.push(ref);
  }

  private failureOf(error: unknown): Hl7Failure {
    if (error instanceof Hl7Failure) return error;
    const cause = error instanceof WriteFailure ? error.cause : error;
    if (cause instanceof Problem) {
      // Problems name paths and rules, never values: safe to send back to the custodian that sent them.
      const reason = `${cause.title}${cause.detail ? `: ${cause.detail}` : ""}`;
      const rejected = cause.statusCode === 403 || cause.statusCode === 422;
      return new Hl7Failure(rejected ? "AR" : "AE", cause.slug, reason, { code: cause.statusCode === 422 ? "204" : "207" });
    }
    this.logger.error({ message: "HL7 v2 message failed", error: redact((cause as Error)?.message ?? String(cause)) });
    return new Hl7Failure("AE", "internal-error", "The message could not be processed; send it again later", { code: "207" });
  }
}

/** Just the MSH segment, when it is readable: what an ACK of an otherwise unreadable message is addressed with. */
function headerOnly(raw: string): Hl7Message | undefined {
  const first = raw.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/)[0] ?? "";
  try {
    return parseEr7(first.slice(0, 2048));
  } catch {
    return undefined;
  }
}

const isUnavailable = (error: unknown) => error instanceof Problem && error.statusCode === 503;

/** A write through the record store failed (and was recorded there). */
class WriteFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("write failed");
  }
}
