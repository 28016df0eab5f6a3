import type { Hl7Message, Hl7Segment } from "@medplum/core";
import { createHash } from "node:crypto";
import { codeableConcept, dateTime, erl, identifiers, repetitions, text, type CodeableConcept } from "./er7";
import { Hl7Failure } from "./hl7v2-failure";

/**
 * HL7 v2 → FHIR R4, after the HL7 v2-to-FHIR mapping IG where it is simple: ADT PID → Patient, ORU^R01
 * OBR → DiagnosticReport and each OBX → Observation (category laboratory). Pure: the patient is already
 * matched (an account) when these run, and every resource names it by its did:pkh identifier.
 */

export const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
export const DIAGNOSTIC_SECTIONS = "http://terminology.hl7.org/CodeSystem/v2-0074";
const INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203";
const UCUM = "http://unitsofmeasure.org";

/** Laboratory sections of v2-0074 (OBR-24): what this feed files under the laboratory category. */
export const LAB_SECTIONS: ReadonlySet<string> = new Set(["LAB", "BG", "BLB", "CH", "HM", "IMM", "MB", "MCB", "MYC", "OSL", "SR", "TX", "URN", "VR"]);

/** OBX-11 observation result status (table 0085) → Observation.status. */
const RESULT_STATUS: Readonly<Record<string, string>> = {
  F: "final", C: "corrected", A: "amended", P: "preliminary", R: "preliminary", S: "preliminary", I: "registered",
  O: "registered", X: "cancelled", N: "cancelled", D: "entered-in-error", W: "entered-in-error", U: "final",
};

/** OBR-25 result status (table 0123) → DiagnosticReport.status. */
const REPORT_STATUS: Readonly<Record<string, string>> = {
  O: "registered", I: "registered", S: "registered", A: "partial", R: "partial", P: "preliminary", C: "corrected",
  F: "final", X: "cancelled", Y: "unknown", Z: "unknown", M: "amended",
};

/** OBX-8 abnormal flags (table 0078) that are also v3 ObservationInterpretation codes. */
const INTERPRETATIONS: ReadonlySet<string> = new Set(["L", "H", "LL", "HH", "LU", "HU", "N", "A", "AA", "<", ">", "S", "R", "I", "U", "D", "B", "W", "POS", "NEG", "IND", "DET", "ND", "NR", "RR", "QCF", "TOX", "E", "EX", "EXP"]);

/** PID-8 administrative sex (table 0001) → Patient.gender. */
const ADMINISTRATIVE_SEX: Readonly<Record<string, string>> = { M: "male", F: "female", O: "other", A: "other", U: "unknown", N: "unknown" };

/** OBX-2 value types this feed maps. */
export const VALUE_TYPES = ["NM", "SN", "ST", "TX", "FT", "CE", "CWE", "CNE", "DT", "DTM", "TS"] as const;

export type FhirJson = Record<string, unknown> & { resourceType: string; id: string };

export interface PatientIdentity {
  /** The patient's account, as a FHIR identifier (did:pkh). */
  account: { system: string; value: string };
  /** The custodian storing the resources: ids are derived under it, so two custodians' ids never meet. */
  custodian: string;
}

/** A stable FHIR id for what a custodian's messages name again and again (a patient, an order, a result): resent or corrected messages update the same record. */
export function stableId(custodian: string, ...parts: string[]): string {
  const hash = createHash("sha256").update(["consentry:hl7v2:v1", custodian.toLowerCase(), ...parts].join("\u0000")).digest("hex");
  return `v2-${hash.slice(0, 40)}`;
}

const required = (value: string | undefined | CodeableConcept, location: string, seq = 1) => {
  if (value === undefined || value === "") throw new Hl7Failure("AE", "required-field-missing", `${location} is required`, { code: "101", location: erl(location, seq) });
  return value;
};

/** ADT^A04/A08: the PID segment as a Patient resource (identifiers, name, birth date, sex, address). */
export function patientFromPid(pid: Hl7Segment, who: PatientIdentity): FhirJson {
  const ids = identifiers(pid, 3).map((i) => ({
    ...(i.type ? { type: { coding: [{ system: IDENTIFIER_TYPE, code: i.type }] } } : {}),
    system: i.system,
    value: i.value,
  }));
  const family = text(pid, 5, 1);
  const given = [text(pid, 5, 2), text(pid, 5, 3)].filter(Boolean);
  const suffix = text(pid, 5, 4);
  const prefix = text(pid, 5, 5);
  const name = family || given.length ? [{ use: "official", ...(family ? { family } : {}), ...(given.length ? { given } : {}), ...(prefix ? { prefix: [prefix] } : {}), ...(suffix ? { suffix: [suffix] } : {}) }] : undefined;
  const birth = dateTime(text(pid, 7), "PID-7");
  const sex = text(pid, 8).toUpperCase();
  const gender = Object.hasOwn(ADMINISTRATIVE_SEX, sex) ? ADMINISTRATIVE_SEX[sex] : undefined;
  const address: Array<Record<string, unknown>> = [];
  for (let r = 0; r < Math.min(repetitions(pid, 11), 5); r++) {
    const line = [text(pid, 11, 1, r), text(pid, 11, 2, r)].filter(Boolean);
    const parts = { city: text(pid, 11, 3, r), state: text(pid, 11, 4, r), postalCode: text(pid, 11, 5, r), country: text(pid, 11, 6, r) };
    const present = Object.fromEntries(Object.entries(parts).filter(([, v]) => v));
    if (line.length || Object.keys(present).length) address.push({ ...(line.length ? { line } : {}), ...present });
  }
  return {
    resourceType: "Patient",
    id: stableId(who.custodian, "Patient", who.account.value),
    identifier: [...ids, who.account],
    ...(name ? { name } : {}),
    ...(gender ? { gender } : {}),
    ...(birth ? { birthDate: birth.slice(0, 10) } : {}),
    ...(address.length ? { address } : {}),
  };
}

/** One order of an ORU^R01: its OBR, the NTEs after it and its OBX results with their NTEs. */
export interface OrderGroup {
  obr: Hl7Segment;
  /** 1-based position among the message's OBR segments (ERR-2). */
  seq: number;
  notes: string[];
  results: Array<{ obx: Hl7Segment; seq: number; notes: string[] }>;
}

/** Groups an ORU^R01's segments after PID into orders; an OBX before any OBR is a sequence error. */
export function orderGroups(message: Hl7Message): OrderGroup[] {
  const groups: OrderGroup[] = [];
  let obxSeq = 0;
  let last: { notes: string[] } | undefined;
  for (const segment of message.segments.slice(1)) {
    if (segment.name === "OBR") {
      const group: OrderGroup = { obr: segment, seq: groups.length + 1, notes: [], results: [] };
      groups.push(group);
      last = group;
    } else if (segment.name === "OBX") {
      const group = groups.at(-1);
      if (!group) throw new Hl7Failure("AE", "segment-sequence", "An OBX segment comes before any OBR", { code: "100", location: erl("OBX", obxSeq + 1) });
      const result = { obx: segment, seq: ++obxSeq, notes: [] };
      group.results.push(result);
      last = result;
    } else if (segment.name === "NTE" && last) {
      const note = Array.from({ length: Math.max(1, repetitions(segment, 3)) }, (_, r) => text(segment, 3, 1, r)).filter(Boolean).join("\n");
      if (note) last.notes.push(note);
    }
  }
  return groups;
}

/** The FHIR resources of one order: an Observation per OBX (laboratory), and the DiagnosticReport naming them. */
export function resourcesOfOrder(group: OrderGroup, who: PatientIdentity, fallbackKey: string): { observations: FhirJson[]; report: FhirJson } {
  const { obr, seq } = group;
  const section = text(obr, 24).toUpperCase() || "LAB";
  if (!LAB_SECTIONS.has(section)) {
    throw new Hl7Failure("AR", "unsupported-section", `OBR-24 names a diagnostic section this feed does not accept (laboratory sections only: ${[...LAB_SECTIONS].join(", ")})`, {
      code: "103",
      location: erl("OBR-24", seq),
    });
  }
  const code = required(codeableConcept(obr, 4), "OBR-4", seq) as CodeableConcept;
  // The order is named by the filler's number, else the placer's, else this message and the OBR's position.
  const orderKey = [text(obr, 3, 1), text(obr, 3, 2)].join("^") !== "^" ? `filler:${text(obr, 3, 1)}^${text(obr, 3, 2)}` : [text(obr, 2, 1), text(obr, 2, 2)].join("^") !== "^" ? `placer:${text(obr, 2, 1)}^${text(obr, 2, 2)}` : `message:${fallbackKey}:${seq}`;
  const orderTime = dateTime(text(obr, 7), "OBR-7");
  const subject = { identifier: who.account };
  const category = [{ coding: [{ system: OBSERVATION_CATEGORY, code: "laboratory", display: "Laboratory" }] }];
  const seen = new Set<string>();
  const observations = group.results.map(({ obx, seq: obxSeq, notes }) => {
    const obsCode = required(codeableConcept(obx, 3), "OBX-3", obxSeq) as CodeableConcept;
    const statusCode = required(text(obx, 11).toUpperCase(), "OBX-11", obxSeq) as string;
    const status = Object.hasOwn(RESULT_STATUS, statusCode) ? RESULT_STATUS[statusCode] : undefined;
    if (!status) throw new Hl7Failure("AE", "unknown-result-status", "OBX-11 is not a result status of HL7 table 0085", { code: "103", location: erl("OBX-11", obxSeq) });
    let key = `${text(obx, 3, 1)}^${text(obx, 3, 3)}^${text(obx, 4)}`;
    if (seen.has(key)) key += `^${text(obx, 1) || obxSeq}`;
    seen.add(key);
    const effective = dateTime(text(obx, 14), "OBX-14") ?? orderTime;
    const interpretation = Array.from({ length: repetitions(obx, 8) }, (_, r) => text(obx, 8, 1, r).toUpperCase())
      .filter((c) => INTERPRETATIONS.has(c))
      .map((c) => ({ coding: [{ system: INTERPRETATION, code: c }] }));
    const range = referenceRange(text(obx, 7), obx);
    return {
      resourceType: "Observation",
      id: stableId(who.custodian, "Observation", orderKey, key),
      status,
      category,
      code: obsCode,
      subject,
      ...(effective ? { effectiveDateTime: effective } : {}),
      ...value(obx, obxSeq, status),
      ...(interpretation.length ? { interpretation } : {}),
      ...(range ? { referenceRange: [range] } : {}),
      ...(notes.length ? { note: notes.map((t) => ({ text: t })) } : {}),
    } as FhirJson;
  });
  const obr25 = text(obr, 25).toUpperCase();
  const reportStatus = (Object.hasOwn(REPORT_STATUS, obr25) ? REPORT_STATUS[obr25] : undefined) ?? (observations.every((o) => o.status === "final") && observations.length > 0 ? "final" : "partial");
  const issued = dateTime(text(obr, 22), "OBR-22");
  const report: FhirJson = {
    resourceType: "DiagnosticReport",
    id: stableId(who.custodian, "DiagnosticReport", orderKey),
    status: reportStatus,
    category: [{ coding: [{ system: DIAGNOSTIC_SECTIONS, code: section }] }],
    code,
    subject,
    ...(orderTime ? { effectiveDateTime: orderTime } : {}),
    ...(issued && issued.includes("T") ? { issued } : {}),
    ...(observations.length ? { result: observations.map((o) => ({ reference: `Observation/${o.id}` })) } : {}),
    ...(group.notes.length ? { conclusion: group.notes.join("\n") } : {}),
  };
  return { observations, report };
}

/** OBX-5 by its OBX-2 value type, as the Observation's value[x]. */
function value(obx: Hl7Segment, seq: number, status: string): Record<string, unknown> {
  const type = text(obx, 2).toUpperCase();
  const present = repetitions(obx, 5) > 0;
  if (!present) {
    if (status === "cancelled" || status === "entered-in-error" || status === "registered") return {};
    throw new Hl7Failure("AE", "required-field-missing", "OBX-5 is required for a result", { code: "101", location: erl("OBX-5", seq) });
  }
  const where = { code: "102", location: erl("OBX-5", seq) };
  switch (type) {
    case "NM": {
      const raw = text(obx, 5);
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw)) throw new Hl7Failure("AE", "invalid-value", "OBX-5 is not a number though OBX-2 says NM", where);
      return { valueQuantity: quantity(Number(raw), obx) };
    }
    case "SN": {
      const comparator = text(obx, 5, 1);
      const num1 = text(obx, 5, 2);
      const separator = text(obx, 5, 3);
      const num2 = text(obx, 5, 4);
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(num1)) throw new Hl7Failure("AE", "invalid-value", "OBX-5 is not a structured numeric (comparator^number[^separator^number])", where);
      if (!separator && !num2 && ["", "<", ">", "<=", ">="].includes(comparator)) {
        return { valueQuantity: { ...(comparator ? { comparator } : {}), ...quantity(Number(num1), obx) } };
      }
      return { valueString: [comparator, num1, separator, num2].join("") };
    }
    case "ST":
    case "TX":
    case "FT": {
      const lines = Array.from({ length: repetitions(obx, 5) }, (_, r) => text(obx, 5, 1, r));
      return { valueString: lines.join("\n") };
    }
    case "CE":
    case "CWE":
    case "CNE": {
      const concept = codeableConcept(obx, 5);
      if (!concept) throw new Hl7Failure("AE", "invalid-value", "OBX-5 is an empty coded value", where);
      return { valueCodeableConcept: concept };
    }
    case "DT":
    case "DTM":
    case "TS":
      return { valueDateTime: dateTime(text(obx, 5), "OBX-5") };
    case "":
      throw new Hl7Failure("AE", "required-field-missing", "OBX-2 (value type) is required when OBX-5 has a value", { code: "101", location: erl("OBX-2", seq) });
    default:
      throw new Hl7Failure("AE", "unsupported-value-type", `OBX-2 value type not supported; supported: ${VALUE_TYPES.join(", ")}`, { code: "102", location: erl("OBX-2", seq) });
  }
}

/** A number with OBX-6's units: UCUM as a coded quantity, other units as text. */
function quantity(number: number, obx: Hl7Segment): Record<string, unknown> {
  const unitCode = text(obx, 6, 1);
  const unitText = text(obx, 6, 2) || unitCode;
  const system = text(obx, 6, 3).toUpperCase();
  if (!unitCode && !unitText) return { value: number };
  return { value: number, unit: unitText, ...(system === "UCUM" && unitCode ? { system: UCUM, code: unitCode } : {}) };
}

/** OBX-7 ("3.5-5.0", "<5", ">10", or free text) as a reference range in OBX-6's units. */
function referenceRange(range: string, obx: Hl7Segment): Record<string, unknown> | undefined {
  if (!range) return undefined;
  const q = (n: string) => {
    const { value: _v, ...unit } = quantity(0, obx);
    return { value: Number(n), ...unit };
  };
  const num = "([+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+))";
  const between = new RegExp(`^${num}\\s*-\\s*${num}$`).exec(range);
  if (between) return { low: q(between[1]), high: q(between[2]), text: range };
  const below = new RegExp(`^<=?\\s*${num}$`).exec(range);
  if (below) return { high: q(below[1]), text: range };
  const above = new RegExp(`^>=?\\s*${num}$`).exec(range);
  if (above) return { low: q(above[1]), text: range };
  return { text: range };
}
