/**
 * What a line says about itself, read leniently: its kind and, for an event, its seq, id and batch. Used
 * to name the event of a line that is cut or garbled, and to look ahead cheaply when diagnosing a
 * failure. Nothing read here is trusted as verified; it only locates.
 */
export interface PeekedLine {
  kind: string | null;
  seq: number | null;
  id: string | null;
  batchId: number | null;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX16 = /^0x[0-9a-fA-F]{32}$/;
// Fields whose value is complete: a number followed by a delimiter, a string with its closing quote.
const KIND = /"kind"\s*:\s*"([a-z]+)"/;
const SEQ = /"seq"\s*:\s*(\d{1,16})\s*[,}]/;
const BATCH_ID = /"batchId"\s*:\s*(\d{1,16})\s*[,}]/;
const ID = /"id"\s*:\s*"([^"]*)"/;

export function peekLine(text: string): PeekedLine {
  let o: Record<string, unknown> | null = null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) o = value as Record<string, unknown>;
  } catch {
    // cut or garbled: fall back to the fields that survived whole
  }
  if (o) {
    return {
      kind: typeof o.kind === "string" ? o.kind : null,
      seq: count(o.seq),
      id: eventId(o.id),
      batchId: count(o.batchId),
    };
  }
  return {
    kind: KIND.exec(text)?.[1] ?? null,
    seq: count(Number(SEQ.exec(text)?.[1])),
    id: eventId(ID.exec(text)?.[1]),
    batchId: count(Number(BATCH_ID.exec(text)?.[1])),
  };
}

const count = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null);
const eventId = (v: unknown): string | null => (typeof v === "string" && (UUID.test(v) || HEX16.test(v)) ? v : null);
