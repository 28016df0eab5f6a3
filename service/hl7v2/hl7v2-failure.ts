/**
 * Why a message is not accepted, as its ACK says it: MSA-1 AE (an error in the content: the sender may
 * correct and resend) or AR (rejected: wrong type, unknown patient, not allowed), the HL7 error code of
 * table 0357 (ERR-3), where (ERR-2), and the reason (ERR-8, MSA-3). `slug` is the stable reason code
 * (ERR-5, like a problem's slug). Reasons never quote the message's content: no names, no identifiers.
 */
export class Hl7Failure extends Error {
  constructor(
    readonly ack: "AE" | "AR",
    readonly slug: string,
    readonly reason: string,
    readonly details: { code?: string; location?: string } = {},
  ) {
    super(reason);
  }
}

/** HL7 table 0357 (message error condition codes), the ones this service answers with. */
export const ERROR_CONDITIONS: Readonly<Record<string, string>> = {
  "0": "Message accepted",
  "100": "Segment sequence error",
  "101": "Required field missing",
  "102": "Data type error",
  "103": "Table value not found",
  "200": "Unsupported message type",
  "201": "Unsupported event code",
  "202": "Unsupported processing id",
  "203": "Unsupported version id",
  "204": "Unknown key identifier",
  "205": "Duplicate key identifier",
  "207": "Application internal error",
};
