import { badRequest } from "../common/problem";
import type { ClassCoding } from "../domain/consent-class";

/**
 * HL7 LEAP's `patient-consent-consult` request, checked as LEAP's request schema checks it
 * (schemas/patient-consent-consult-hook-request.schema.json in HL7 LEAP's consent decision service):
 * `hook`, `hookInstance` and `context` required; `context` has no keys but `patientId`, `actor`,
 * `purposeOfUse`, `category`, `class` (and `content`, which this service refuses: see docs/leap.md);
 * `patientId` and `actor` are required lists of `{system?, value}`; `category` and `class` lists of
 * `{system, code}`; `purposeOfUse` a code or a list of codes. Anything else is a 400.
 */
export interface LeapIdentifier {
  system?: string;
  value: string;
}

export interface LeapConsultContext {
  patientId: LeapIdentifier[];
  actor: LeapIdentifier[];
  /** Codes as given (absent: TREAT). */
  purposeOfUse?: string[];
  category?: ClassCoding[];
  class?: ClassCoding[];
}

/** Context keys LEAP's schema allows. `content` (LEAP's FHIR content mode) is known but not supported here. */
const CONTEXT_KEYS = new Set(["patientId", "actor", "purposeOfUse", "category", "class", "content"]);

/** Generous bounds so a request cannot make the service do unbounded work; LEAP sets none. */
const MAX_LIST = 64;
const MAX_TEXT = 512;

const invalid = (detail: string) => badRequest("invalid-cds-request", "Invalid request", detail);

export function parseConsultRequest(body: unknown): LeapConsultContext {
  if (!isObject(body)) throw invalid("the body must be a JSON object");
  if (body.hook !== "patient-consent-consult") throw invalid("hook must be patient-consent-consult");
  if (!isText(body.hookInstance)) throw invalid("hookInstance must be a string");
  const context = body.context;
  if (!isObject(context)) throw invalid("context must be an object");
  const extra = Object.keys(context).filter((key) => !CONTEXT_KEYS.has(key));
  if (extra.length > 0) throw invalid(`context must NOT have additional properties (${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(", ")})`);
  if ("content" in context) throw invalid("context.content (LEAP's FHIR content mode) is not supported by this service");
  if (!("patientId" in context)) throw invalid("context must have required property 'patientId'");
  if (!("actor" in context)) throw invalid("context must have required property 'actor'");
  return {
    patientId: identifiers(context.patientId, "context.patientId"),
    actor: identifiers(context.actor, "context.actor"),
    ...(context.purposeOfUse !== undefined ? { purposeOfUse: purposes(context.purposeOfUse) } : {}),
    ...(context.category !== undefined ? { category: codings(context.category, "context.category") } : {}),
    ...(context.class !== undefined ? { class: codings(context.class, "context.class") } : {}),
  };
}

function identifiers(raw: unknown, path: string): LeapIdentifier[] {
  return list(raw, path).map((item, i) => {
    const at = `${path}/${i}`;
    if (!isObject(item)) throw invalid(`${at} must be an object`);
    const extra = Object.keys(item).filter((k) => k !== "system" && k !== "value");
    if (extra.length > 0) throw invalid(`${at} must NOT have additional properties`);
    if (!isText(item.value)) throw invalid(`${at}/value must be a string`);
    if (item.system !== undefined && !isText(item.system)) throw invalid(`${at}/system must be a string`);
    return { ...(item.system !== undefined ? { system: item.system as string } : {}), value: item.value as string };
  });
}

function codings(raw: unknown, path: string): ClassCoding[] {
  return list(raw, path).map((item, i) => {
    const at = `${path}/${i}`;
    if (!isObject(item)) throw invalid(`${at} must be an object`);
    const extra = Object.keys(item).filter((k) => k !== "system" && k !== "code");
    if (extra.length > 0) throw invalid(`${at} must NOT have additional properties`);
    if (!isText(item.system) || !isText(item.code)) throw invalid(`${at} must have a string system and code`);
    return { system: item.system as string, code: item.code as string };
  });
}

function purposes(raw: unknown): string[] {
  const codes = typeof raw === "string" ? [raw] : list(raw, "context.purposeOfUse");
  if (!codes.every(isText)) throw invalid("context.purposeOfUse must be a string or a list of strings");
  return codes as string[];
}

function list(raw: unknown, path: string): unknown[] {
  if (!Array.isArray(raw)) throw invalid(`${path} must be an array`);
  if (raw.length > MAX_LIST) throw invalid(`${path} must have at most ${MAX_LIST} items`);
  return raw;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === "string" && value.length <= MAX_TEXT;
