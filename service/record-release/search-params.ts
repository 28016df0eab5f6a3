import { badRequest } from "../common/problem";
import type { ChainAccounts } from "../domain/fhir-identity";
import type { LastUpdatedRange } from "../records/stored-record";

/** How `?patient=` names a patient: an account (address or did:pkh on this chain), or an identifier it is enrolled with. */
export type PatientParam = { account: string } | { identifier: { system: string; value: string } };

/** `?patient=`: `0x…`, `did:pkh:eip155:<chain>:0x…`, or a FHIR token `system|value` (also as `identifier=` would take it). */
export function parsePatientParam(value: string, accounts: ChainAccounts): PatientParam {
  const account = accounts.from(value);
  if (account) return { account };
  const bar = value.indexOf("|");
  if (bar > 0 && bar < value.length - 1) return { identifier: { system: value.slice(0, bar), value: value.slice(bar + 1) } };
  throw badRequest("invalid-patient", "Invalid patient", "?patient= must be an account address, a did:pkh on this chain, or system|value (an identifier the patient is enrolled with)");
}

/** FHIR date search values: a date or instant of any precision FHIR allows. */
const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * `_lastUpdated` values (FHIR R4 §3.1.1.4.2, prefixes eq, ge, gt, le, lt; eq by default), combined: each
 * value is read as the range its precision covers (`2026-11` is the whole month), and the prefixes bound
 * the result. Answers a half-open range [from, before).
 */
export function parseLastUpdated(values: string | string[] | undefined): LastUpdatedRange | undefined {
  if (values === undefined) return undefined;
  const range: LastUpdatedRange = {};
  for (const raw of Array.isArray(values) ? values : [values]) {
    const prefix = /^(eq|ge|gt|le|lt)/.exec(raw)?.[1] ?? "eq";
    const { start, end } = interval(raw.slice(/^(eq|ge|gt|le|lt)/.test(raw) ? 2 : 0));
    const raise = (d: Date) => (range.from = range.from && range.from > d ? range.from : d);
    const lower = (d: Date) => (range.before = range.before && range.before < d ? range.before : d);
    if (prefix === "eq") {
      raise(start);
      lower(end);
    } else if (prefix === "ge") raise(start);
    else if (prefix === "gt") raise(end);
    else if (prefix === "lt") lower(start);
    else lower(end);
  }
  return range;
}

function interval(text: string): { start: Date; end: Date } {
  const m = FHIR_DATE.exec(text);
  if (!m) throw badRequest("invalid-search", "Invalid search parameter", `_lastUpdated: ${JSON.stringify(text.slice(0, 40))} is not a FHIR date or instant`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined) throw badRequest("invalid-search", "Invalid search parameter", "_lastUpdated: a time needs a time zone (Z or ±hh:mm)");
  const iso = `${y}-${mo ?? "01"}-${d ?? "01"}T${h ?? "00"}:${mi ?? "00"}:${s ?? "00"}${frac ?? ""}${zone ?? "Z"}`;
  const start = new Date(iso);
  // Date rolls 2026-02-30 over into March: a day past its month's last is refused, not searched for.
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo ?? 1), 0)).getUTCDate();
  if (Number.isNaN(start.getTime()) || Number(d ?? 1) > daysInMonth) throw badRequest("invalid-search", "Invalid search parameter", `_lastUpdated: ${JSON.stringify(text.slice(0, 40))} is not a valid date`);
  const end = new Date(start);
  if (mo === undefined) end.setUTCFullYear(end.getUTCFullYear() + 1);
  else if (d === undefined) end.setUTCMonth(end.getUTCMonth() + 1);
  else if (h === undefined) end.setUTCDate(end.getUTCDate() + 1);
  else if (s === undefined) end.setUTCMinutes(end.getUTCMinutes() + 1);
  else end.setTime(end.getTime() + (frac ? 1 : 1000));
  return { start, end };
}
