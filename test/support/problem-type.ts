/**
 * The problem type of an error answer, whichever form it takes: problem+json's `type`, or — under /fhir,
 * where errors are OperationOutcomes — the urn:consentry:problem coding of its first issue, as the same
 * `urn:consentry:problem:<slug>`.
 */
export function problemType(res: { body?: any }): string | undefined {
  const body = res.body;
  if (typeof body?.type === "string") return body.type;
  if (body?.resourceType !== "OperationOutcome") return undefined;
  const code = body.issue?.[0]?.details?.coding?.find((c: { system?: string }) => c.system === "urn:consentry:problem")?.code;
  return code === undefined ? undefined : `urn:consentry:problem:${code}`;
}

/** problem+json, or an OperationOutcome as FHIR JSON (errors under /fhir). */
export const ERROR_CONTENT_TYPE = /^application\/(problem|fhir)\+json/;
