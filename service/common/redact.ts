/**
 * Strips what could identify a person from text bound for a log: account addresses and other hex values,
 * did:pkh URIs, e-mail addresses, runs of digits (record numbers, national identifiers, dates) and quoted
 * values. What remains says what went wrong, not to whom.
 */
export function redact(text: string): string {
  return text
    .replace(/did:[a-z0-9]+:[^\s"',)]+/gi, "did:…")
    .replace(/0x[0-9a-f]{6,}/gi, "0x…")
    .replace(/[\w.+-]+@[\w-]+\.[\w.-]+/g, "…@…")
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, "\"…\"")
    .replace(/\d{4,}/g, "#")
    .slice(0, 300);
}
