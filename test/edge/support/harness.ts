import { CATEGORIES } from "../../../service/domain/vocabulary";
import { VALID_AUTH, type FuzzRequest } from "./inputs";
import type { Requester, World } from "./world";

export const PROBLEM_PREFIX = "urn:consentry:problem:";

/** One broken promise of the edge, with the request that broke it. */
export interface Violation {
  kind: "5xx" | "not-problem-json" | "bad-problem-type" | "leak" | "audit-count" | "405-allows-method" | "served-without-valid-token" | "transport";
  key: string;
  count: number;
  detail: string;
  request: string;
  response: string;
}

export interface Totals {
  requests: number;
  byStatus: Record<string, number>;
  /** Authenticated attempts on audited routes the service answered (not 401/429, not unroutable). */
  auditedAttempts: number;
  eventsRecorded: number;
  /** Requests Fastify's inject would not even send (malformed header values): none reached the service. */
  notSent: number;
  fiveHundreds: number;
}

type Response = Awaited<ReturnType<Requester["request"]>>;

/** A route the service records every attempt on, as Fastify would match `pathname`. */
interface AuditedRoute {
  kind: "read" | "history" | "search" | "write" | "action" | "transaction" | "import" | "hl7v2";
  type?: string;
}

/**
 * The audited routes (docs/access-trail.md): FHIR record reads, version reads, histories, searches and
 * writes — not the Consent and AuditEvent views — plus consent decisions, the CDS consult, consent grants
 * and revocations, erasure, and HL7 v2 messages over HTTP. Matched on the raw path the way Fastify routes it: literal segments, no
 * empty ones, no trailing slash. HEAD runs the GET handler, so it is an attempt too.
 */
export function auditedRoute(method: string, url: string): AuditedRoute | undefined {
  const pathname = url.split("?")[0];
  if (pathname !== "/" && pathname.endsWith("/")) return undefined;
  const parts = pathname.split("/").slice(1);
  if (parts.some((p) => p === "")) return undefined;
  const m = method === "HEAD" ? "GET" : method;
  const type = parts[1] === undefined ? undefined : safeDecode(parts[1]);
  if (parts[0] === "fhir") {
    if (m === "POST" && parts.length === 1) return { kind: "transaction" };
    if (m === "POST" && parts.length === 2 && parts[1] === "$import") return { kind: "import" };
    if (m === "GET" && parts.length === 2 && parts[1] === "metadata") return undefined;
    if (m === "POST" && parts.length === 2) return { kind: "write", type };
    if (m === "PUT" && parts.length === 3) return { kind: "write", type };
    if (m === "GET") {
      if (parts.length === 2) return parts[1] === "Consent" || parts[1] === "AuditEvent" ? undefined : { kind: "search", type };
      // GET /fhir/Consent/{id} is the Consent view's read, not a record read.
      if (parts.length === 3) return parts[1] === "Consent" ? undefined : { kind: "read", type };
      if (parts.length === 4 && parts[3] === "_history") return { kind: "history", type };
      if (parts.length === 5 && parts[3] === "_history") return { kind: "read", type };
    }
    return undefined;
  }
  if (m !== "POST") return undefined;
  if (pathname === "/hl7v2") return { kind: "hl7v2" };
  const route = parts.map((p, i) => (i === 1 && (parts[0] === "consents" || parts[0] === "patients") && parts.length === 3 ? ":param" : p)).join("/");
  return ["consent-decisions", "cds-services/patient-consent-consult", "consents", "consents/:param/revoke", "patients/:param/erase"].includes(route) ? { kind: "action" } : undefined;
}

/** The route that answers errors as HL7 LEAP does ({httpCode, error, errorMessage}) rather than as problems. */
export function speaksLeapErrors(method: string, url: string): boolean {
  return method === "POST" && url.split("?")[0] === "/cds-services/patient-consent-consult";
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** How many data categories a resource type spans: a released search records one event per category. */
export function categoriesSpanned(type: string | undefined): number {
  if (!type) return 0;
  return CATEGORIES.filter((c) => (c.resources as readonly string[]).some((r) => r === type || r.startsWith(`${type}:`))).length;
}

/**
 * Events an answered request must have left: none without a valid token, for a 401 or a 429, or when the
 * URL never reached a route (Fastify refused it as undecodable or too long). Otherwise exactly one for an
 * audited route — except a released search, which records one per category the type spans, and a
 * released history, one per category its versions span (at least one).
 */
export function expectedEvents(request: Pick<FuzzRequest, "method" | "url" | "auth">, response: Pick<Response, "status" | "body">): { min: number; max: number } {
  const route = auditedRoute(request.method, request.url);
  const type: string | undefined = response.body?.type;
  const unrouted = type === PROBLEM_PREFIX + "bad-url" || type === PROBLEM_PREFIX + "uri-too-long";
  if (!route || !VALID_AUTH.has(request.auth) || response.status === 401 || response.status === 429 || unrouted) return { min: 0, max: 0 };
  const released = response.status >= 200 && response.status < 300;
  if (released && route.kind === "search") {
    // A directory search (no patient) is one event; a patient's, one per category the type spans.
    const n = categoriesSpanned(route.type);
    return { min: Math.min(1, n), max: Math.max(1, n) };
  }
  // A stored transaction is one event per entry; an import one per line (refused or not).
  // An acknowledged HL7 v2 message, one per resource it stored, or one refusal.
  if (released && (route.kind === "transaction" || route.kind === "import" || route.kind === "hl7v2")) return { min: 1, max: Number.MAX_SAFE_INTEGER };
  if (released && route.kind === "history") return { min: 1, max: Math.max(1, categoriesSpanned(route.type)) };
  return { min: 1, max: 1 };
}

/** Whether a URL is under the FHIR base, whose errors are OperationOutcomes. */
export function isFhirUrl(url: string): boolean {
  const path = url.split("?")[0];
  return path === "/fhir" || path.startsWith("/fhir/");
}

/** The urn:consentry:problem slug an OperationOutcome carries, if it is one. */
export function outcomeSlug(body: { resourceType?: unknown; issue?: Array<{ details?: { coding?: Array<{ system?: string; code?: string }> } }> } | undefined): string | undefined {
  if (body?.resourceType !== "OperationOutcome" || !Array.isArray(body.issue) || body.issue.length === 0) return undefined;
  return body.issue[0].details?.coding?.find((c) => c.system === "urn:consentry:problem")?.code;
}

/** Problems Fastify answers before any route (so before the /fhir OperationOutcome rendering). */
const FRAMEWORK_SLUGS = new Set(["bad-url", "uri-too-long", "request-header-fields-too-large", "payload-too-large", "malformed-body", "unsupported-media-type", "body-too-deep", "invalid-text", "request-timeout", "rate-limited"]);

/** Reads the trail as the regulator, from where it last stopped. */
export class TrailWatcher {
  private lastSeq = 0;

  constructor(
    private readonly service: Requester,
    private readonly regulator: Record<string, string>,
  ) {}

  /** Events recorded since the last call (all pages). */
  async newEvents(): Promise<Array<{ seq: number; actor: string; action: string; decision: string }>> {
    const events: Array<{ seq: number; actor: string; action: string; decision: string }> = [];
    for (;;) {
      const res = await this.service.request({ method: "GET", url: `/audit/events?limit=1000&after=${this.lastSeq}`, headers: this.regulator });
      if (res.status !== 200) throw new Error(`trail read failed: ${res.status} ${res.text}`);
      const page = res.body.events as Array<{ seq: number; actor: string; action: string; decision: string }>;
      events.push(...page);
      if (page.length) this.lastSeq = page[page.length - 1].seq;
      if (res.body.next === null || page.length === 0) return events;
    }
  }
}

const clip = (text: string | undefined, n = 300) => (text === undefined ? "" : text.length > n ? `${text.slice(0, n)}…(${text.length} chars)` : text);
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

export function describeRequest(r: FuzzRequest): string {
  const auth = r.auth === "none" ? "anonymous" : `${r.caller}/${r.auth}`;
  const headers = Object.entries(r.headers)
    .filter(([k]) => k !== "authorization")
    .map(([k, v]) => `${k}: ${clip(v, 60)}`)
    .join("; ");
  return printable(`${r.method} ${clip(r.url, 200)} as ${auth}${headers ? ` [${headers}]` : ""}${r.payload !== undefined ? ` body=${clip(r.payload, 200)}` : ""}${r.notes.length ? ` (${r.notes.join(", ")})` : ""}`);
}

/**
 * Sends requests one at a time and checks every answer: below 500; a non-2xx is application/problem+json
 * with a urn:consentry:problem: type (HL7 LEAP's consult: LEAP's {httpCode, error, errorMessage}); a secured operation is never served without a valid token; no health record content (or the patient's account) in a non-2xx
 * body unless the request itself carried it; a 405's Allow does not name the refused method; and the
 * trail grew by exactly the events the attempt owes.
 */
export class EdgeHarness {
  readonly totals: Totals = { requests: 0, byStatus: {}, auditedAttempts: 0, eventsRecorded: 0, notSent: 0, fiveHundreds: 0 };
  private readonly violations = new Map<string, Violation>();
  private readonly trail: TrailWatcher;
  private readonly patientAccounts: string[];

  constructor(
    private readonly service: Requester,
    private readonly world: World,
  ) {
    this.trail = new TrailWatcher(service, world.auth.regulator);
    this.patientAccounts = [world.alice.address, world.carol.address].map((a) => a.slice(2).toLowerCase());
  }

  /** Skips the events already in the trail. */
  async start(): Promise<void> {
    await this.trail.newEvents();
  }

  async exercise(request: FuzzRequest): Promise<Response | undefined> {
    let response: Response;
    try {
      response = await this.service.request({ method: request.method, url: request.url, headers: request.headers, payload: request.payload });
    } catch (error) {
      // light-my-request refuses header values Node would never send (a NUL in a header): nothing reached the service.
      if (error instanceof TypeError && /header|character/i.test(error.message)) {
        this.totals.notSent++;
        return undefined;
      }
      this.violate("transport", request, undefined, `inject threw: ${(error as Error).message}`);
      return undefined;
    }
    this.totals.requests++;
    this.totals.byStatus[response.status] = (this.totals.byStatus[response.status] ?? 0) + 1;
    this.check(request, response);
    const events = await this.trail.newEvents();
    const expected = expectedEvents(request, response);
    if (expected.max > 0) this.totals.auditedAttempts++;
    this.totals.eventsRecorded += events.length;
    const actor = request.caller === "anonymous" ? undefined : this.world.address[request.caller];
    const foreign = events.filter((e) => e.actor !== actor);
    if (events.length < expected.min || events.length > expected.max || foreign.length > 0) {
      const want = expected.min === expected.max ? `${expected.min}` : `${expected.min}..${expected.max}`;
      this.violate("audit-count", request, response, `expected ${want} access event(s) by ${actor ?? "nobody"}, trail grew by ${events.length}: ${JSON.stringify(events.map((e) => `${e.action}/${e.decision}${e.actor === actor ? "" : ` by ${e.actor}`}`))}`);
    }
    return response;
  }

  private check(request: FuzzRequest, response: Response): void {
    const { status } = response;
    if (status >= 500) {
      this.totals.fiveHundreds++;
      this.violate("5xx", request, response, `status ${status}`);
    }
    if (status >= 200 && status < 300) {
      // A forged, expired or missing token never gets a secured operation served.
      if (request.secured && !VALID_AUTH.has(request.auth)) this.violate("served-without-valid-token", request, response, `status ${status} with auth ${request.auth}`);
      return;
    }
    const contentType = String(response.headers["content-type"] ?? "");
    if (speaksLeapErrors(request.method, request.url)) {
      // HL7 LEAP's consult answers errors in LEAP's shape (docs/leap.md), whatever raised them.
      const body = response.body ?? {};
      if (!/^application\/json/.test(contentType) || body.httpCode !== status || typeof body.error !== "string" || typeof body.errorMessage !== "string") {
        this.violate("not-problem-json", request, response, `not a LEAP error: content-type ${contentType || "(none)"}, httpCode ${JSON.stringify(body.httpCode)}`);
      }
    } else if (isFhirUrl(request.url) && /^application\/fhir\+json/.test(contentType)) {
      // Under /fhir errors are OperationOutcomes carrying the problem slug as a coding (domain/fhir-operation-outcome.ts).
      if (request.method !== "HEAD" && outcomeSlug(response.body) === undefined) {
        this.violate("bad-problem-type", request, response, `an OperationOutcome without a ${PROBLEM_PREFIX} coding`);
      }
    } else if (!/^application\/problem\+json/.test(contentType)) this.violate("not-problem-json", request, response, `content-type ${contentType || "(none)"}`);
    else if (isFhirUrl(request.url) && !FRAMEWORK_SLUGS.has(String(response.body?.type ?? "").replace(PROBLEM_PREFIX, ""))) {
      // Only what Fastify refuses before routing (bad URL, overlong segment or headers) stays problem+json under /fhir.
      this.violate("not-problem-json", request, response, `problem+json under /fhir: ${response.body?.type}`);
    }
    // HEAD answers carry no body to check.
    if (request.method !== "HEAD" && !speaksLeapErrors(request.method, request.url) && !(isFhirUrl(request.url) && /^application\/fhir\+json/.test(contentType))) {
      const type = response.body?.type;
      if (typeof type !== "string" || !type.startsWith(PROBLEM_PREFIX) || response.body?.status !== status) {
        this.violate("bad-problem-type", request, response, `type ${JSON.stringify(type)}, status field ${JSON.stringify(response.body?.status)}`);
      }
    }
    if (status === 405) {
      const allow = String(response.headers.allow ?? "").split(/,\s*/);
      if (allow.includes(request.method)) this.violate("405-allows-method", request, response, `Allow: ${response.headers.allow}`);
    }
    const sent = `${safeDecode(request.url)} ${request.url} ${request.payload ?? ""} ${JSON.stringify(request.headers)}`;
    const leaked = this.world.sensitive.filter((s) => response.text.includes(s) && !sent.includes(s));
    const body = response.text.toLowerCase();
    const accounts = this.patientAccounts.filter((a) => body.includes(a) && !sent.toLowerCase().includes(a));
    if (leaked.length || accounts.length) this.violate("leak", request, response, `non-2xx body names ${JSON.stringify([...leaked, ...accounts.map((a) => "0x" + a)])}`);
  }

  private violate(kind: Violation["kind"], request: FuzzRequest, response: Response | undefined, detail: string): void {
    const slug = typeof response?.body?.type === "string" ? response.body.type.replace(PROBLEM_PREFIX, "") : "";
    const key = `${kind} | ${request.op}${request.method !== request.op.split(" ")[0] ? ` via ${request.method}` : ""} | ${response?.status ?? "-"} ${slug}`;
    const seen = this.violations.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    this.violations.set(key, { kind, key, count: 1, detail, request: describeRequest(request), response: printable(clip(response?.text, 400)) });
  }

  /** The violations found since the last call. */
  takeViolations(): Violation[] {
    const found = [...this.violations.values()];
    this.violations.clear();
    return found;
  }
}
