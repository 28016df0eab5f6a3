import type { Hl7Message } from "@medplum/core";
import { randomBytes } from "node:crypto";
import { text } from "./er7";
import { ERROR_CONDITIONS, type Hl7Failure } from "./hl7v2-failure";

export type AckCode = "AA" | "AE" | "AR";

/** Default separators, for answering text whose MSH could not be read. */
const DEFAULT = { field: "|", component: "^", repetition: "~", escape: "\\", subcomponent: "&" };

/**
 * The ACK (original acknowledgment mode) for a message: MSH addressed back to the sender (MSH-3/4 ↔ 5/6),
 * MSH-9 ACK^<trigger>^ACK, a fresh MSH-10; MSA-1 the code, MSA-2 the message's control id (MSH-10), MSA-3
 * the reason; and for AE/AR an ERR segment: ERR-2 where, ERR-3 the HL7 error code (table 0357), ERR-4
 * severity E, ERR-5 the service's own reason code, ERR-8 the reason. Segments end with CR.
 */
export function buildAck(message: Hl7Message | undefined, code: AckCode, failure?: Hl7Failure): string {
  const context = message?.context;
  const sep = context
    ? { field: context.fieldSeparator, component: context.componentSeparator, repetition: context.repetitionSeparator, escape: context.escapeCharacter, subcomponent: context.subcomponentSeparator }
    : DEFAULT;
  const esc = (value: string) =>
    value
      .split(sep.escape).join(`${sep.escape}E${sep.escape}`)
      .split(sep.field).join(`${sep.escape}F${sep.escape}`)
      .split(sep.component).join(`${sep.escape}S${sep.escape}`)
      .split(sep.subcomponent).join(`${sep.escape}T${sep.escape}`)
      .split(sep.repetition).join(`${sep.escape}R${sep.escape}`)
      .replace(/[\r\n]+/g, " ");
  const msh = message?.header;
  // The sender's own addressing comes back as it was sent (already escaped in its text).
  const raw = (field: number) => msh?.getField(field)?.toString() ?? "";
  const trigger = msh ? text(msh, 9, 2) : "";
  const version = (msh && text(msh, 12)) || "2.5.1";
  const processing = (msh && text(msh, 11)) || "P";
  const controlId = msh ? text(msh, 10) : "";
  const reason = failure?.reason ?? "Message accepted";
  const segments = [
    ["MSH", `${sep.component}${sep.repetition}${sep.escape}${sep.subcomponent}`, raw(5), raw(6), raw(3), raw(4), hl7Now(), "", trigger ? ["ACK", esc(trigger), "ACK"].join(sep.component) : "ACK", ackControlId(), esc(processing), esc(version)],
    ["MSA", code, esc(controlId), esc(reason)],
  ];
  if (failure && code !== "AA") {
    const condition = failure.details.code ?? "207";
    segments.push([
      "ERR",
      "",
      failure.details.location ?? "",
      [condition, esc(ERROR_CONDITIONS[condition] ?? ""), "HL70357"].join(sep.component),
      "E",
      [esc(failure.slug), "", "CONSENTRY"].join(sep.component),
      "",
      "",
      esc(reason),
    ]);
  }
  // MSH-1 is the field separator itself: "MSH" + "|" + "^~\&" + "|" + …
  return segments.map((fields) => (fields[0] === "MSH" ? `MSH${sep.field}${fields.slice(1).join(sep.field)}` : fields.join(sep.field))).join("\r");
}

/** HL7 DTM of now, in UTC with its offset. */
function hl7Now(): string {
  return new Date().toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "") + "+0000";
}

/** A control id of our own for the ACK (MSH-10, at most 20 characters). */
function ackControlId(): string {
  return `ACK${randomBytes(8).toString("hex")}`;
}

/** The MSA-1 code and MSA-2 control id of an ACK's text (for clients and tests). */
export function readAck(ack: string): { code: string; controlId: string; reason: string; err?: string } {
  const segments = ack.split(/\r\n|\r|\n/);
  const field = segments[0]?.charAt(3) || "|";
  const msa = segments.find((s) => s.startsWith(`MSA${field}`))?.split(field) ?? [];
  const err = segments.find((s) => s.startsWith(`ERR${field}`));
  return { code: msa[1] ?? "", controlId: msa[2] ?? "", reason: msa[3] ?? "", ...(err ? { err } : {}) };
}
