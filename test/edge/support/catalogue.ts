import type { Operation } from "./openapi";
import { authorizationFor, encodeLoose, RAW_NUMBER_LITERALS, serialise, slotValues, wrongChecksum, type FuzzRequest, type Pools } from "./inputs";
import { CALLERS, type Caller } from "./world";

/** Whether a path template (literal segments, `{param}` for any one segment) matches a concrete path. */
export function templateMatches(template: string, path: string): boolean {
  const t = template.split("/");
  const p = path.split("/");
  return t.length === p.length && t.every((segment, i) => segment.startsWith("{") || segment === p[i]);
}

/** A value that names something real for a path parameter of `template`. */
export function concreteParam(pools: Pools, template: string, name: string): string {
  if (name === "type") return "Condition";
  if (name === "id" && template.startsWith("/fhir")) return pools.world.records.find((r) => r.resourceType === "Condition")!.id as string;
  return slotValues(pools, name, { op: template, where: "path" })[0];
}

/**
 * The hostile inputs every operation gets, whatever the random part draws: the role matrix with valid
 * input, then deep nesting, NUL and lone surrogates, out-of-range numbers (1e300, 2^63, 2^64, 1e999, -1),
 * strings where numbers go and arrays where objects go, null and missing fields, wrong content types, a
 * body past the limit, wrong EIP-55 checksums and did:pkh URIs in paths and queries, forged tokens.
 */
export function catalogue(pools: Pools, op: Operation, bodyLimit: number): FuzzRequest[] {
  const { world } = pools;
  const requests: FuzzRequest[] = [];
  const opName = `${op.method} ${op.path}`;
  const contentType = op.path.startsWith("/fhir") ? "application/fhir+json" : "application/json";
  const validParams = Object.fromEntries(op.pathParams.map((p) => [p, concreteParam(pools, op.path, p)]));
  const validQuery = Object.fromEntries(op.query.map((q) => [q.name, slotValues(pools, q.name, { op: op.path, where: "query" })[0] ?? "x"]));
  const validBody = sampleBody(pools, op);

  const build = (caller: Caller, label: string, parts: { params?: Record<string, string>; raw?: boolean; query?: Record<string, string>; rawQuery?: string; payload?: string; contentType?: string | null; auth?: FuzzRequest["auth"] }): FuzzRequest => {
    const params = { ...validParams, ...parts.params };
    const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => (parts.raw ? params[name] : encodeLoose(params[name])));
    const query = Object.entries(parts.query ?? validQuery)
      .map(([k, v]) => `${k}=${encodeLoose(v)}`)
      .concat(parts.rawQuery ? [parts.rawQuery] : [])
      .join("&");
    const auth = caller === "anonymous" ? "none" : (parts.auth ?? "valid");
    const headers: Record<string, string> = {};
    const authorization = authorizationFor(pools, caller, auth);
    if (authorization) headers.authorization = authorization;
    const payload = parts.payload ?? validBody;
    if (payload !== undefined && parts.contentType !== null) headers["content-type"] = parts.contentType ?? contentType;
    return { caller, auth, op: opName, secured: op.secured, method: op.method, url: path + (query ? `?${query}` : ""), headers, payload, notes: [label] };
  };

  // The role matrix with the most valid input the fuzz can make.
  for (const caller of CALLERS) requests.push(build(caller, "valid", {}));

  const numberFields = Object.entries(op.body?.properties ?? {}).filter(([, s]) => s.type === "number").map(([k]) => k);
  const withEvery = (fields: string[], value: unknown) => (validBody === undefined ? undefined : serialise(Object.assign(JSON.parse(validBody), Object.fromEntries(fields.map((f) => [f, value])))));
  const rawNumber = (literal: string) => (validBody === undefined || numberFields.length === 0 ? undefined : JSON.stringify(JSON.parse(validBody)).replace(new RegExp(`"${numberFields[0]}":[^,}]+`), `"${numberFields[0]}":${literal}`));
  const stringFields = Object.entries(op.body?.properties ?? {}).filter(([, s]) => s.type === "string" || s.type === undefined).map(([k]) => k);
  const hostile: Array<[string, Parameters<typeof build>[2]]> = [
    ["deep-array-100k", { payload: "[".repeat(100_000) + "]".repeat(100_000) }],
    ["deep-object-65", { payload: '{"a":'.repeat(65) + "1" + "}".repeat(65) }],
    ["nul-in-strings", { payload: withEvery(stringFields, "a\u0000b") ?? '{"a":"\\u0000"}' }],
    ["lone-surrogate-in-strings", { payload: withEvery(stringFields, "\ud800") ?? '{"a":"\\ud800"}' }],
    ["numbers-1e300", { payload: withEvery(numberFields, 1e300) }],
    ["numbers-2^64", { payload: withEvery(numberFields, 2 ** 64) }],
    ["numbers-minus-1", { payload: withEvery(numberFields, -1) }],
    ["numbers-1e999", { payload: rawNumber(RAW_NUMBER_LITERALS[0]) }],
    ["strings-for-numbers", { payload: withEvery(numberFields, "12") }],
    ["arrays-for-everything", { payload: withEvery(Object.keys(op.body?.properties ?? {}), []) }],
    ["null-fields", { payload: withEvery(Object.keys(op.body?.properties ?? {}), null) }],
    ["missing-required", { payload: op.body || op.method !== "GET" ? "{}" : undefined }],
    ["null-body", { payload: "null" }],
    ["array-body", { payload: validBody === undefined ? "[]" : `[${validBody}]` }],
    ["text-plain", { payload: validBody ?? "{}", contentType: "text/plain" }],
    ["no-content-type", { payload: validBody ?? "{}", contentType: null }],
    ["form-encoded", { payload: "patient=1&categories=2", contentType: "application/x-www-form-urlencoded" }],
    ["body-past-limit", { payload: JSON.stringify({ pad: "p".repeat(bodyLimit + 10) }) }],
    ["params-wrong-checksum", { params: Object.fromEntries(op.pathParams.map((p) => [p, wrongChecksum(world.bob.address)])) }],
    ["params-did-pkh", { params: Object.fromEntries(op.pathParams.map((p) => [p, `did:pkh:eip155:${world.chainId}:${world.bob.address}`])) }],
    ["params-2^63", { params: Object.fromEntries(op.pathParams.map((p) => [p, "9223372036854775808"])) }],
    ["params-nul", { params: Object.fromEntries(op.pathParams.map((p) => [p, "%00"])), raw: true }],
    ["params-lone-surrogate", { params: Object.fromEntries(op.pathParams.map((p) => [p, "%ED%A0%80"])), raw: true }],
    ["params-101-chars", { params: Object.fromEntries(op.pathParams.map((p) => [p, "x".repeat(101)])) }],
    ["query-1e300", { query: Object.fromEntries(op.query.map((q) => [q.name, "1e300"])) }],
    ["query-2^64", { query: Object.fromEntries(op.query.map((q) => [q.name, "18446744073709551616"])) }],
    ["query-wrong-checksum", { query: Object.fromEntries(op.query.map((q) => [q.name, wrongChecksum(world.alice.address)])) }],
    ["query-nul", { query: Object.fromEntries(op.query.map((q) => [q.name, "a\u0000b"])) }],
    ["query-lone-surrogate", { query: {}, rawQuery: op.query.map((q) => `${q.name}=%ED%A0%80`).join("&") || "x=%ED%A0%80" }],
    ["query-long", { query: Object.fromEntries(op.query.map((q) => [q.name, "q".repeat(10_000)])) }],
    ["query-arrays", { query: {}, rawQuery: op.query.map((q) => `${q.name}=1&${q.name}=2`).join("&") || "a=1&a=2" }],
    ["forged-alg-none", { auth: "alg-none" }],
    ["forged-no-exp", { auth: "no-exp" }],
    ["forged-aud-array", { auth: "aud-array" }],
    ["forged-other-deployment", { auth: "other-deployment" }],
  ];
  const authenticated = CALLERS.filter((c) => c !== "anonymous");
  hostile.forEach(([label, parts], i) => {
    if (parts?.payload === undefined && label.startsWith("numbers")) return;
    if (parts?.payload === undefined && (label.includes("fields") || label.includes("everything") || label.includes("strings"))) return;
    // Each hostile case as two callers, rotating through the roles; anonymous ones now and then.
    const callers: Caller[] = [authenticated[i % authenticated.length], i % 4 === 0 ? "anonymous" : authenticated[(i + 2) % authenticated.length]];
    for (const caller of callers) requests.push(build(caller, label, parts ?? {}));
  });
  return requests;
}

/** A body as valid as the pools make it: real accounts, in-range numbers, a real record for FHIR writes. */
function sampleBody(pools: Pools, op: Operation): string | undefined {
  const { world } = pools;
  if (op.path.startsWith("/fhir/{type}") && (op.method === "POST" || op.method === "PUT")) {
    const { meta: _meta, ...condition } = world.records.find((r) => r.resourceType === "Condition")!;
    return JSON.stringify(condition);
  }
  if (!op.body?.properties) return undefined;
  if (op.path === "/consents") return JSON.stringify(world.grant);
  if (op.path === "/consents/{id}/revoke") return JSON.stringify({ nonce: world.grant.nonce, deadline: world.grant.deadline, signature: world.grant.signature });
  const now = Math.floor(Date.now() / 1000);
  const value = (name: string, type: string | undefined): unknown => {
    if (name === "terms") return { patient: world.alice.address, grantee: world.address.institution, categories: 4, purposes: 1, effect: 0, validFrom: 0, validUntil: 0 };
    if (name === "identifiers") return [{ system: "urn:oid:2.16.840.1.113883.19.5", value: "MRN-0042" }];
    if (name === "context") return { patientId: { system: "urn:ietf:rfc:3986", value: `did:pkh:eip155:${world.chainId}:${world.alice.address}` }, purposeOfUse: "TREAT" };
    if (name === "categories") return 4;
    if (name === "deadline") return now + 3600;
    if (name === "purpose") return "TREAT";
    if (name === "wait") return false;
    if (name === "before") return "2000-01-01";
    if (type === "number") return 1;
    return slotValues(pools, name, { op: op.path, where: "body" })[0] ?? "x";
  };
  return JSON.stringify(Object.fromEntries(Object.entries(op.body.properties).map(([k, s]) => [k, value(k, s.type)])));
}
