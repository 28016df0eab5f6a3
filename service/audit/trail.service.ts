import { Injectable } from "@nestjs/common";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { forbidden, notFound } from "../common/problem";
import { AccessEventRepository, type TrailQuery } from "./access-event.repository";
import { AccessAction, AccessDecision, RELEASING_DECISIONS } from "../domain/access-codes";
import type { AccessEventViewDto, BatchViewDto, EventProofDto, TrailPageDto, TrailQueryDto } from "./audit.dto";
import type { AccessEventEntity } from "./audit.entities";
import { ProofService } from "./proof.service";
import { assertIntact } from "./trail-integrity";
import { toEventView } from "./trail.mapper";

const DEFAULT_PAGE = 100;

/** Who sees which part of the trail: patients their own data's accesses, institutions their own accesses, regulators all. */
@Injectable()
export class TrailService {
  constructor(
    private readonly events: AccessEventRepository,
    private readonly proofs: ProofService,
    private readonly authority: AuthorityService,
  ) {}

  async list(actor: Actor, dto: TrailQueryDto): Promise<TrailPageDto> {
    const rows = await this.events.query(this.scope(actor, dto));
    assertIntact(rows);
    const limit = dto.limit ?? DEFAULT_PAGE;
    return {
      events: rows.map((e) => (this.hidesSubject(actor, e) ? redactSubject(toEventView(e)) : toEventView(e))),
      next: rows.length === limit ? rows[rows.length - 1].seq : null,
    };
  }

  /** The events of the trail the caller may see, for the FHIR AuditEvent view. */
  async visibleEvents(actor: Actor, patient: string | undefined, limit = DEFAULT_PAGE): Promise<AccessEventEntity[]> {
    const rows = await this.events.query(this.scope(actor, { patient, limit }));
    assertIntact(rows);
    return rows;
  }

  async proof(actor: Actor, eventId: string): Promise<EventProofDto> {
    const event = await this.visibleEvent(actor, eventId);
    assertIntact([event]);
    const proof = await this.proofs.proof(event);
    // The leaf and path still prove the attempt was anchored; the values would name the patient.
    return this.hidesSubject(actor, event) ? { ...proof, leafValues: null } : proof;
  }

  async batch(actor: Actor, batchId: number): Promise<BatchViewDto> {
    const batch = await this.proofs.batch(batchId);
    if (!this.authority.actorHolds(actor, "regulator")) {
      // Others may see a batch header once they can see one of its events.
      const mine = await this.events.query({ ...this.scope(actor, {}), afterSeq: batch.firstSeq - 1, limit: 1 });
      if (!mine[0] || mine[0].seq > batch.lastSeq) throw notFound("batch-not-found", `No batch ${batchId}`);
    }
    return this.proofs.batchView(batch);
  }

  private async visibleEvent(actor: Actor, eventId: string): Promise<AccessEventEntity> {
    const event = await this.events.findById(eventId);
    const me = actor.address.toLowerCase();
    if (!event || !(this.authority.actorHolds(actor, "regulator") || event.actor === me || event.patient === me)) {
      throw notFound("event-not-found", `No access event ${eventId}`);
    }
    return event;
  }

  private scope(actor: Actor, dto: TrailQueryDto): TrailQuery {
    const me = actor.address.toLowerCase();
    const query: TrailQuery = {
      patient: dto.patient?.toLowerCase(),
      actor: dto.actor?.toLowerCase(),
      fromMs: dto.from ? Date.parse(dto.from) : undefined,
      toMs: dto.to ? Date.parse(dto.to) : undefined,
      afterSeq: dto.after,
      limit: dto.limit ?? DEFAULT_PAGE,
    };
    if (this.authority.actorHolds(actor, "regulator")) return query;
    if (this.authority.actorHolds(actor, "institution")) {
      if (query.actor && query.actor !== me) throw forbidden("trail-scope", "Institutions see only their own accesses");
      return { ...query, actor: me };
    }
    if (query.patient && query.patient !== me) throw forbidden("trail-scope", "Patients see only the accesses to their own data");
    return { ...query, patient: me };
  }

  /**
   * A read refused by id is the one access whose requester did not already know the patient: the record
   * id named them only for the service. Showing the requester its own refused read must not reveal whose
   * record it was, or in which category.
   */
  hidesSubject(actor: Actor, e: AccessEventEntity): boolean {
    const me = actor.address.toLowerCase();
    return (
      !this.authority.actorHolds(actor, "regulator") &&
      e.patient !== me &&
      e.action === AccessAction.RecordRead &&
      !RELEASING_DECISIONS.has(e.decision as AccessDecision)
    );
  }
}

function redactSubject(view: AccessEventViewDto): AccessEventViewDto {
  return { ...view, patient: null, categories: [], consentId: null };
}
