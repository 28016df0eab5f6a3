import type { INestApplication } from "@nestjs/common";
import { METHOD_METADATA, PATH_METADATA } from "@nestjs/common/constants";
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from "@nestjs/swagger";
import { PUBLIC_KEY, ROLES_KEY } from "../auth/auth.decorators";
import type { Role } from "../auth/actor";
import { OPENAPI_SCHEMAS, PROBLEM_JSON, problemExample, SCHEMA } from "../common/openapi";
import { withFhirErrorMediaTypes } from "../domain/fhir-operation-outcome";
import { leapErrorResponses } from "../common/leap-error";

/** The name of the bearer scheme in `components.securitySchemes`. */
export const BEARER = "bearer";

const TAGS: Array<[name: string, description: string]> = [
  ["audit", "The access trail: events, Merkle inclusion proofs, anchored batches, the regulator's export, retention"],
  ["auth", "Sign-In with Ethereum (EIP-4361): a challenge to sign, then a short-lived bearer token"],
  ["consents", "Patients' signed grants and revocations, relayed to ConsentRegistry, and consents as the chain holds them"],
  ["decisions", "Consent decisions: the contract's rule as an API, and HL7 LEAP's CDS Hooks service"],
  ["discovery", "What a wallet or client needs to sign for this deployment"],
  ["fhir", "FHIR R4: consent-checked record reads, searches and writes; Consent and AuditEvent views"],
  ["hl7v2", "HL7 v2 in: ADT^A04/A08 and ORU^R01 from a custodian's systems, stored as FHIR records behind consent and answered with ACKs (also over MLLP)"],
  ["institutions", "The institution directory: roles as indexed from chain, names as the registry's admin gave them"],
  ["operations", "Health of the service and its dependencies"],
  ["patients", "Enrolment with a custodian, and erasure"],
];

const DESCRIPTION = [
  "Consent and audit ledger for health data, anchored on a permissioned EVM chain. Patients sign consents (EIP-712) that the service relays; institutions read FHIR R4 records only when the consent state on chain allows it; every access, released or refused, is recorded and anchored in Merkle batches.",
  "",
  "**Sign in** with the bar below: pick a demo account (`npm start` only) or use a browser wallet; the token then fills *Authorize*. By hand: `POST /auth/challenge`, sign the message with `personal_sign`, `POST /auth/token`, then `Authorization: Bearer <token>`. With `npm start` running, `npm run token -- --as \"Northside Lab\"` prints a token.",
  "",
  "**Errors** are `application/problem+json` (RFC 9457) with a stable `type` (`urn:consentry:problem:<slug>`), except on HL7 LEAP's consult (`POST /cds-services/patient-consent-consult`), which answers them in LEAP's `{httpCode, error, errorMessage}` shape. Every signed-in call may answer 401 (no or a bad token), 429 (rate limit) or 503 (the consent projection is stale, so the caller's roles cannot be established).",
].join("\n");

/** The document's fixed parts. `serverUrl` is where Try it out sends requests (default: this origin). */
export function openApiBase(serverUrl = "/"): Omit<OpenAPIObject, "paths"> {
  const builder = new DocumentBuilder()
    .setTitle("Consentry")
    .setDescription(DESCRIPTION)
    .setVersion("0.1.0")
    .setLicense("Apache-2.0", "https://www.apache.org/licenses/LICENSE-2.0")
    .addServer(serverUrl, "This service")
    .addBearerAuth({ type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A token from POST /auth/token" }, BEARER);
  for (const [name, description] of TAGS) builder.addTag(name, description);
  return builder.build();
}

/** Who may call an operation, as the guard decides it: read from the same route metadata the guard reads. */
interface RouteFacts {
  public: boolean;
  roles: Role[];
}

/**
 * The OpenAPI document of `app`: what @nestjs/swagger derives from the controllers' decorators, completed with
 * what holds for every route and is therefore stated once, here: `security` (none on @Public routes, the bearer
 * token elsewhere), the problems every call may answer (400 validation, 401 token, 403 role, 429 rate limit, 503
 * projection stale), the Problem schema on every error response, path parameters named by the template, and the
 * schemas controllers refer to by `$ref`. Works on an app created with `preview: true` (no database, no chain).
 */
export function buildOpenApiDocument(app: INestApplication, serverUrl?: string): OpenAPIObject {
  const doc = SwaggerModule.createDocument(app, openApiBase(serverUrl) as OpenAPIObject);
  // The LEAP consult answers errors in LEAP's shape, not as problems (common/leap-error.ts).
  // Under /fhir errors are OperationOutcomes (domain/fhir-operation-outcome.ts).
  return withFhirErrorMediaTypes(leapErrorResponses(completeDocument(doc, routeFacts(app))));
}

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

export function completeDocument(doc: OpenAPIObject, facts: Map<string, RouteFacts>): OpenAPIObject {
  doc.components ??= {};
  doc.components.schemas = { ...OPENAPI_SCHEMAS, ...doc.components.schemas } as typeof doc.components.schemas;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const route = (op.operationId && facts.get(op.operationId)) || { public: false, roles: [] };
      op.security = route.public ? [] : [{ [BEARER]: [] }];

      // Path parameters the template names but no decorator declared.
      op.parameters ??= [];
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        if (!op.parameters.some((p) => "in" in p && p.in === "path" && p.name === name)) {
          op.parameters.push({ name, in: "path", required: true, description: `The ${name}`, schema: { type: "string" } });
        }
      }
      if (op.parameters.length === 0) delete op.parameters;

      const responses = (op.responses ??= {});
      const add = (status: number, description: string, slug: string, title: string) => {
        const existing = responses[status] as { description?: string } | undefined;
        if (existing) {
          if (existing.description && !existing.description.includes(`\`${slug}\``)) existing.description += `; also ${description.charAt(0).toLowerCase()}${description.slice(1)} (\`${slug}\`)`;
          return;
        }
        responses[status] = { description: `${description} (\`${slug}\`)`, content: { [PROBLEM_JSON]: { schema: { $ref: SCHEMA.problem }, example: problemExample(status, slug, title) } } };
      };
      if (op.parameters || op.requestBody) add(400, "A parameter or the body failed validation", "validation-failed", "The request is invalid");
      if (!route.public) add(401, "No bearer token, or an invalid or expired one", "missing-token", "Unauthorized");
      if (route.roles.length) add(403, `The caller holds none of the roles: ${route.roles.join(", ")}`, "role-required", "Forbidden");
      if (path !== "/health") add(429, "Too many calls to this interface in the last minute (see RATE_LIMIT_PER_MINUTE)", "rate-limited", "Too many requests");
      if (!route.public) add(503, "The consent projection is stale or the chain cut off, so the caller's roles cannot be established", "consent-state-unavailable", "Service unavailable");
      if (route.roles.length && op.description && !op.description.includes("Roles:")) op.description += `\n\nRoles: ${route.roles.join(", ")}.`;

      // Every error carries the Problem schema, whoever declared the response.
      for (const [status, response] of Object.entries(responses)) {
        const r = response as { content?: Record<string, unknown> };
        if (/^[45]\d\d$/.test(status) && !r.content) {
          r.content = { [PROBLEM_JSON]: { schema: { $ref: SCHEMA.problem } } };
        }
      }
    }
  }
  return doc;
}

/** operationId (`Controller_method`, @nestjs/swagger's default) → whether it is public and which roles it needs. */
function routeFacts(app: INestApplication): Map<string, RouteFacts> {
  const facts = new Map<string, RouteFacts>();
  const modules = (app as unknown as { container: { getModules(): Map<string, { controllers: Map<unknown, { metatype: unknown }> }> } }).container.getModules();
  for (const module of modules.values()) {
    for (const { metatype } of module.controllers.values()) {
      const controller = metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (typeof controller !== "function") continue;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === "constructor" || typeof handler !== "function") continue;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        // The guard's own reading: the handler's metadata, else the controller's.
        const isPublic = Reflect.getMetadata(PUBLIC_KEY, handler) ?? Reflect.getMetadata(PUBLIC_KEY, controller) ?? false;
        const roles = Reflect.getMetadata(ROLES_KEY, handler) ?? Reflect.getMetadata(ROLES_KEY, controller) ?? [];
        facts.set(`${controller.name}_${name}`, { public: !!isPublic, roles });
      }
    }
  }
  return facts;
}
