import { Controller, Get, Header, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { FHIR_JSON, SCHEMA } from "../common/openapi";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import type { AccessEventEntity } from "../audit/audit.entities";
import { TrailService } from "../audit/trail.service";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { AccessAction, AccessDecision } from "../domain/access-codes";
import { searchsetBundle } from "../domain/fhir-bundle";
import { ChainAccounts } from "../domain/fhir-identity";
import { RecordService } from "../records/record.service";
import { groupAccesses, toFhirAuditEvent, withoutEmpty } from "./fhir-audit-event.mapper";
import { FhirPatientQuery } from "./fhir.dto";

/** Most access events read for one searchset (an access spanning several categories is one AuditEvent). */
const AUDIT_EVENT_PAGE = 1_000;

@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir/AuditEvent")
export class FhirAuditEventController {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: ChainAccounts,
    private readonly trail: TrailService,
    private readonly records: RecordService,
  ) {}

  @Get()
  @Header("content-type", "application/fhir+json")
  @ApiOperation({
    summary: "Search the access trail as FHIR AuditEvent",
    description:
      "The access events the caller may see (as GET /audit/events, at most 1,000), as FHIR R4 AuditEvent resources following IHE BALP (docs/balp.md): one per access, each claiming the BALP profile it meets (PatientRead, PatientQuery, PatientCreate, PatientUpdate, PatientDelete, AuthZconsent); refusals follow the same patterns with a failure outcome and an OperationOutcome.",
  })
  @ApiOkResponse({ description: "A searchset Bundle of FHIR R4 AuditEvent resources (IHE BALP), oldest first", content: { [FHIR_JSON]: { schema: { $ref: SCHEMA.fhirBundle } } } })
  async search(@CurrentActor() actor: Actor, @Query() query: FhirPatientQuery) {
    const events = await this.trail.visibleEvents(actor, query.patient, AUDIT_EVENT_PAGE);
    const baseUrl = publicBaseUrl(this.config);
    const context = { accounts: this.accounts, baseUrl, writeVersions: await this.writeVersions(events), hidesSubject: (e: AccessEventEntity) => this.trail.hidesSubject(actor, e) };
    // No empty `entry` when nothing matches: FHIR JSON has no empty arrays.
    return withoutEmpty(searchsetBundle(baseUrl, groupAccesses(events).map((access) => toFhirAuditEvent(access, context) as { resourceType: string; id: string })));
  }

  /**
   * The version each recorded write created (so creates and updates are told apart, and the data entity is
   * version-specific): the latest version stored by then, read from the record store while it holds the record.
   */
  private async writeVersions(events: AccessEventEntity[]): Promise<Map<string, number>> {
    const writes = events.filter((e) => e.action === AccessAction.RecordWrite && e.decision === AccessDecision.Recorded && e.resourceType && e.resourceId);
    const named = new Map(writes.map((e) => [`${e.resourceType}/${e.resourceId}`, { resourceType: e.resourceType!, id: e.resourceId! }]));
    // One read of version numbers and times, no content; a failure fails the search rather than mislabel writes.
    const versions = new Map<string, Array<{ versionId: number; lastUpdatedMs: number }>>();
    for (const v of await this.records.versionStamps([...named.values()])) {
      const key = `${v.resourceType}/${v.id}`;
      versions.set(key, [...(versions.get(key) ?? []), { versionId: v.versionId, lastUpdatedMs: v.lastUpdated.getTime() }]);
    }
    const found = new Map<string, number>();
    for (const e of writes) {
      const stored = (versions.get(`${e.resourceType}/${e.resourceId}`) ?? []).filter((v) => v.lastUpdatedMs <= e.timeMs).sort((a, b) => b.versionId - a.versionId)[0];
      if (stored) found.set(e.id, stored.versionId);
    }
    return found;
  }
}
