import { randomUUID } from "node:crypto";
import { badRequest } from "../common/problem";
import { isPlainObject } from "../records/json-shape";
import { FHIR_ID } from "../records/resource-validation";

/** Most entries one transaction may carry (a Synthea patient bundle has a few thousand); bigger loads go through `POST /fhir/$import`. */
export const MAX_TRANSACTION_ENTRIES = 10_000;

/** One entry of a transaction Bundle, with the id it is stored under. */
export interface TransactionEntry {
  /** Position in `Bundle.entry`. */
  index: number;
  fullUrl?: string;
  method: "POST" | "PUT";
  type: string;
  /** The client's id for PUT; a new server id for POST. */
  id: string;
  ifMatch?: number;
  resource: Record<string, unknown>;
}

const invalidBundle = (path: string, detail: string) =>
  badRequest("invalid-bundle", "Invalid transaction", `${path}: ${detail}`, {
    path,
    issues: [{ severity: "error", code: "invalid", diagnostics: detail, expression: [path] }],
  });

/**
 * The entries of a FHIR transaction Bundle (R4 §3.1.0.11): POST `Type` (create, server id) and PUT
 * `Type/id` (update or create with the client's id). Searches, deletes, conditional creates and batches
 * are refused: a load is writes, all or nothing.
 */
export function parseTransaction(body: unknown): TransactionEntry[] {
  if (!isPlainObject(body) || body.resourceType !== "Bundle") throw invalidBundle("Bundle", "the body must be a Bundle");
  if (body.type !== "transaction") throw invalidBundle("Bundle.type", `must be "transaction" (got ${JSON.stringify(body.type) ?? "nothing"})`);
  const entries = body.entry;
  if (!Array.isArray(entries) || entries.length === 0) throw invalidBundle("Bundle.entry", "a transaction needs at least one entry");
  if (entries.length > MAX_TRANSACTION_ENTRIES) throw invalidBundle("Bundle.entry", `at most ${MAX_TRANSACTION_ENTRIES} entries; load more with POST /fhir/$import`);
  const seen = new Set<string>();
  return entries.map((entry: unknown, index: number) => {
    const at = `Bundle.entry[${index}]`;
    if (!isPlainObject(entry)) throw invalidBundle(at, "must be an object");
    const { request, resource, fullUrl } = entry;
    if (!isPlainObject(request)) throw invalidBundle(`${at}.request`, "is required");
    if (!isPlainObject(resource) || typeof resource.resourceType !== "string") throw invalidBundle(`${at}.resource`, "a resource is required");
    if (fullUrl !== undefined && typeof fullUrl !== "string") throw invalidBundle(`${at}.fullUrl`, "must be a string");
    if (request.ifNoneExist !== undefined || request.ifNoneMatch !== undefined || request.ifModifiedSince !== undefined) {
      throw invalidBundle(`${at}.request`, "conditional creates are not supported: PUT the resource under its own id instead");
    }
    const url = typeof request.url === "string" ? request.url : "";
    const type = resource.resourceType;
    let id: string;
    let method: "POST" | "PUT";
    if (request.method === "POST") {
      if (url !== type) throw invalidBundle(`${at}.request.url`, `a POST must name the resource type (${type})`);
      method = "POST";
      id = randomUUID();
    } else if (request.method === "PUT") {
      const match = /^([A-Za-z]+)\/([^/?#]+)$/.exec(url);
      if (!match || match[1] !== type || !FHIR_ID.test(match[2])) throw invalidBundle(`${at}.request.url`, `a PUT must name ${type}/{id}`);
      method = "PUT";
      id = match[2];
    } else {
      throw invalidBundle(`${at}.request.method`, "only POST and PUT entries are supported");
    }
    const key = `${type}/${id}`;
    if (seen.has(key)) throw invalidBundle(`${at}.request.url`, `${key} appears twice`);
    seen.add(key);
    let ifMatch: number | undefined;
    if (request.ifMatch !== undefined) {
      const m = typeof request.ifMatch === "string" ? /^(?:W\/)?"(\d+)"$/.exec(request.ifMatch) : null;
      if (!m) throw invalidBundle(`${at}.request.ifMatch`, 'must be a weak ETag such as W/"1"');
      ifMatch = Number(m[1]);
    }
    return { index, fullUrl, method, type, id, ifMatch, resource: { ...resource } };
  });
}

/**
 * Replaces every reference to an entry's fullUrl (`urn:uuid:…`, or an absolute URL) by `Type/id`, the id
 * it will be stored under, and gives each POSTed resource its new id. A `urn:uuid:` reference that names
 * no entry of the bundle is refused: it could never resolve.
 */
export function rewriteReferences(entries: TransactionEntry[]): void {
  const targets = new Map<string, string>();
  for (const entry of entries) if (entry.fullUrl) targets.set(entry.fullUrl, `${entry.type}/${entry.id}`);
  for (const entry of entries) {
    entry.resource = rewrite(entry.resource, `${entryPath(entry)}.${entry.type}`, targets) as Record<string, unknown>;
    if (entry.method === "POST") entry.resource.id = entry.id;
  }
}

/** Where an entry's resource sits in the Bundle, as paths name it. */
export const entryPath = (entry: Pick<TransactionEntry, "index">) => `Bundle.entry[${entry.index}].resource`;

function rewrite(node: unknown, path: string, targets: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(node)) return node.map((item, i) => rewrite(item, `${path}[${i}]`, targets));
  if (!isPlainObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "reference" && typeof value === "string") {
      const target = targets.get(value);
      if (target) out[key] = target;
      else if (value.startsWith("urn:uuid:") || value.startsWith("urn:oid:")) throw invalidBundle(`${path}.reference`, `${value.slice(0, 60)} names no entry of this transaction`);
      else out[key] = value;
    } else {
      out[key] = rewrite(value, `${path}.${key}`, targets);
    }
  }
  return out;
}
