import { Hl7Message, type Hl7Segment } from "@medplum/core";
import { Hl7Failure } from "./hl7v2-failure";

/**
 * Reading HL7 v2 ER7 ("pipe and hat") text with Medplum's parser (`Hl7Message` of `@medplum/core`):
 * segments, fields, repetitions and components come from the library; this file adds what it leaves
 * out — escape sequences (`\F\ \S\ \T\ \R\ \E\`), HL7 data types (CX, CWE/CE, HD, DTM) as FHIR shapes —
 * and refuses text no record should hold (control characters, lone surrogates).
 */

/** Largest number of segments one message may have (a laboratory report has a few hundred at most). */
export const MAX_SEGMENTS = 2_000;

/** The message as the library parsed it; throws Hl7Failure AR when it is not an HL7 v2 message at all. */
export function parseEr7(text: string): Hl7Message {
  // Senders end segments with CR (the standard), LF or CRLF; MLLP framing is already gone.
  const normalized = text.replace(/^\uFEFF/, "").replace(/\r\n|\n/g, "\r").replace(/\r+$/, "");
  if (!/^MSH[^A-Za-z0-9\r]/.test(normalized) || normalized.length < 8) {
    throw new Hl7Failure("AR", "not-hl7v2", "The message does not start with an MSH segment", { code: "100" });
  }
  // Control characters other than the segment separator (and TAB) have no place in ER7 text.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(normalized) || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(normalized)) {
    throw new Hl7Failure("AR", "invalid-text", "The message contains control characters or unpaired UTF-16 surrogates", { code: "102" });
  }
  const separators = normalized.slice(3, 8);
  if (new Set(separators).size !== 5 || /[A-Za-z0-9\s]/.test(separators)) {
    throw new Hl7Failure("AR", "invalid-separators", "MSH-1 and MSH-2 must declare five distinct, non-alphanumeric separators", { code: "102", location: "MSH^1^1" });
  }
  const message = Hl7Message.parse(normalized);
  if (message.segments.length > MAX_SEGMENTS) {
    throw new Hl7Failure("AR", "too-many-segments", `A message may have at most ${MAX_SEGMENTS} segments`, { code: "100" });
  }
  const bad = message.segments.findIndex((s) => !/^[A-Z][A-Z0-9]{2}$/.test(s.name));
  if (bad !== -1) throw new Hl7Failure("AR", "invalid-segment", `Segment ${bad + 1} has no valid segment name`, { code: "100" });
  return message;
}

/** A component (1-based, as HL7 names them: PID-3.4), of a repetition (0-based), unescaped; "" when absent. */
export function component(segment: Hl7Segment | undefined, field: number, comp = 1, repetition = 0): string {
  if (!segment) return "";
  const f = segment.getField(field);
  if (!f || repetition >= f.components.length) return "";
  const raw = f.components[repetition][comp - 1] ?? "";
  return raw;
}

/** A subcomponent (1-based) of a component, unescaped. */
export function sub(segment: Hl7Segment | undefined, field: number, comp: number, subcomponent: number, repetition = 0): string {
  if (!segment) return "";
  return unescape(segment, component(segment, field, comp, repetition).split(segment.context.subcomponentSeparator)[subcomponent - 1] ?? "");
}

/** A component's text, unescaped; a component with subcomponents gives its first one. */
export function text(segment: Hl7Segment | undefined, field: number, comp = 1, repetition = 0): string {
  return sub(segment, field, comp, 1, repetition).trim();
}

/** How many repetitions a field has (0 when empty). */
export function repetitions(segment: Hl7Segment | undefined, field: number): number {
  if (!segment) return 0;
  const f = segment.getField(field);
  if (!f) return 0;
  const last = f.components.length;
  return last === 1 && f.components[0].every((c) => c === "") ? 0 : last;
}

/** Replaces HL7 escape sequences by the characters they stand for; formatting escapes (\H\, \.br\ …) become nothing or a line break. */
export function unescape(segment: Hl7Segment, value: string): string {
  const { escapeCharacter: e, fieldSeparator, componentSeparator, subcomponentSeparator, repetitionSeparator } = segment.context;
  if (!e || !value.includes(e)) return value;
  const pattern = new RegExp(`${escapeRegExp(e)}([^${escapeRegExp(e)}]*)${escapeRegExp(e)}`, "g");
  return value.replace(pattern, (_, code: string) => {
    switch (code) {
      case "F": return fieldSeparator;
      case "S": return componentSeparator;
      case "T": return subcomponentSeparator;
      case "R": return repetitionSeparator;
      case "E": return e;
      case ".br": return "\n";
      default:
        // \Xhh…\ hexadecimal data
        if (/^X([0-9A-Fa-f]{2})+$/.test(code)) return Buffer.from(code.slice(1), "hex").toString("latin1").replace(/[\u0000-\u001f\u007f]/g, "");
        return ""; // highlighting, character set switches and other formatting
    }
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");

/** HL7 coding system names (table 0396) → FHIR system URIs, for the ones a laboratory feed carries. */
const CODING_SYSTEMS: Readonly<Record<string, string>> = {
  LN: "http://loinc.org",
  SCT: "http://snomed.info/sct",
  SNM: "http://snomed.info/sct",
  UCUM: "http://unitsofmeasure.org",
  I10: "http://hl7.org/fhir/sid/icd-10",
  I10C: "http://hl7.org/fhir/sid/icd-10-cm",
  HL70078: "http://terminology.hl7.org/CodeSystem/v2-0078",
  HL70074: "http://terminology.hl7.org/CodeSystem/v2-0074",
};

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}

/** A CE/CWE field (identifier^text^system^alt identifier^alt text^alt system) as a FHIR CodeableConcept; undefined when empty. */
export function codeableConcept(segment: Hl7Segment | undefined, field: number, repetition = 0): CodeableConcept | undefined {
  const codings: Coding[] = [];
  for (const offset of [0, 3]) {
    const code = text(segment, field, 1 + offset, repetition);
    const display = text(segment, field, 2 + offset, repetition);
    const system = systemUri(text(segment, field, 3 + offset, repetition));
    if (code) codings.push({ ...(system ? { system } : {}), code, ...(display ? { display } : {}) });
  }
  const display = text(segment, field, 2, repetition) || text(segment, field, 9, repetition);
  if (codings.length === 0 && !display) return undefined;
  return { ...(codings.length ? { coding: codings } : {}), ...(display ? { text: display } : {}) };
}

/** A coding system name as a FHIR system URI: the known HL7 names, an OID, or a URI as given; undefined for local names. */
export function systemUri(name: string): string | undefined {
  if (!name) return undefined;
  if (Object.hasOwn(CODING_SYSTEMS, name.toUpperCase())) return CODING_SYSTEMS[name.toUpperCase()];
  if (/^[0-2](\.(0|[1-9]\d*))+$/.test(name)) return `urn:oid:${name}`;
  if (/^(urn:|https?:\/\/)\S+$/.test(name)) return name;
  return undefined;
}

/**
 * An assigning authority (HD: namespace^universal id^universal id type) as the FHIR identifier system
 * enrolments use: an ISO OID as `urn:oid:…`, a URI or UUID as given (UUID as `urn:uuid:…`); a namespace
 * id alone counts only if it is itself an OID or a URI. Undefined when the identifier names no system.
 */
export function assigningAuthoritySystem(namespace: string, universalId: string, universalIdType: string): string | undefined {
  const type = universalIdType.toUpperCase();
  if (universalId) {
    if (type === "ISO" && /^[0-2](\.(0|[1-9]\d*))+$/.test(universalId)) return `urn:oid:${universalId}`;
    if (type === "UUID" && /^[0-9a-fA-F-]{36}$/.test(universalId)) return `urn:uuid:${universalId.toLowerCase()}`;
    if (type === "URI" && /^[a-z][a-z0-9+.-]*:\S+$/i.test(universalId)) return universalId;
  }
  if (/^[0-2](\.(0|[1-9]\d*))+$/.test(namespace)) return `urn:oid:${namespace}`;
  if (/^(urn:|https?:\/\/)\S+$/.test(namespace)) return namespace;
  return undefined;
}

/** The CX identifiers of a field (PID-3): {system, value, type} for each repetition that names a system. */
export function identifiers(segment: Hl7Segment | undefined, field: number): Array<{ system: string; value: string; type?: string }> {
  const out: Array<{ system: string; value: string; type?: string }> = [];
  for (let r = 0; r < repetitions(segment, field); r++) {
    const value = text(segment, field, 1, r);
    const system = assigningAuthoritySystem(sub(segment, field, 4, 1, r), sub(segment, field, 4, 2, r), sub(segment, field, 4, 3, r));
    const type = text(segment, field, 5, r);
    if (value && system) out.push({ system, value, ...(type ? { type } : {}) });
  }
  return out;
}

/**
 * An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) as a FHIR dateTime. FHIR requires a time zone
 * whenever there is a time, so a time without an offset keeps only its date (the sender's local time
 * is unknown here). Undefined when empty; throws Hl7Failure AE when it is not a valid date.
 */
export function dateTime(value: string, location: string): string | undefined {
  if (!value) return undefined;
  const match = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/.exec(value);
  if (!match) throw new Hl7Failure("AE", "invalid-date", `${location} is not an HL7 date/time`, { code: "102", location: erl(location) });
  const [, y, mo, d, h, mi, s, frac, tz] = match;
  const date = new Date(Date.UTC(Number(y), Number(mo ?? "01") - 1, Number(d ?? "01"), Number(h ?? "0"), Number(mi ?? "0"), Number(s ?? "0")));
  const valid =
    date.getUTCFullYear() === Number(y) &&
    date.getUTCMonth() === Number(mo ?? "01") - 1 &&
    date.getUTCDate() === Number(d ?? "01") &&
    Number(h ?? "0") < 24 && Number(mi ?? "0") < 60 && Number(s ?? "0") < 60 &&
    (!tz || (Number(tz.slice(1, 3)) <= 14 && Number(tz.slice(3)) < 60));
  if (!valid) throw new Hl7Failure("AE", "invalid-date", `${location} is not a valid date`, { code: "102", location: erl(location) });
  const day = [y, mo, d].filter(Boolean).join("-");
  if (!h || !tz) return day;
  const offset = `${tz.slice(0, 3)}:${tz.slice(3)}`;
  return `${day}T${h}:${mi ?? "00"}:${s ?? "00"}${frac ? `.${frac}` : ""}${offset === "+00:00" || offset === "-00:00" ? "Z" : offset}`;
}

/** "OBX-5" → the ERR-2 error location (ERL: segment^sequence^field). */
export function erl(location: string, sequence = 1): string {
  const [segment, field] = location.split("-");
  return field ? `${segment}^${sequence}^${field.split(".")[0]}` : `${segment}^${sequence}`;
}
