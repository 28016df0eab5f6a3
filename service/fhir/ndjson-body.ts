import type { FastifyInstance } from "fastify";

/** The media types of NDJSON bodies (FHIR Bulk Data uses application/fhir+ndjson). */
export const NDJSON_TYPES = ["application/fhir+ndjson", "application/ndjson", "application/x-ndjson"];

/**
 * Bodies of `POST /fhir/$import`: NDJSON arrives as text, within the same body limit as JSON; each line is
 * parsed by the import itself with the JSON body rules (edge/json-body.ts), so one bad line fails alone.
 */
export function installNdjsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser(NDJSON_TYPES, { parseAs: "string", bodyLimit }, (_request, body, done) => done(null, body));
}
