import fc from "fast-check";
import { getAddress, id as keccakText, Wallet } from "ethers";
import jwt from "jsonwebtoken";
import { PURPOSES } from "../../../service/domain/vocabulary";
import type { Operation, Schema } from "./openapi";
import { accountDid, CALLERS, SYNTHEA_PATIENT, ALICE_MRN, type Caller, type World } from "./world";

/** Hostile strings: control characters, NUL, lone surrogates, injections, numbers in disguise, very long text. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00",
  "\ud83d",
  "😀",
  "\u202eevil",
  "\r\n\t",
  "\u001b[31m",
  "../../../etc/passwd",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "'; DROP TABLE access_events; --",
  "${jndi:ldap://x}",
  "%00",
  "__proto__",
  "constructor",
  "null",
  "NaN",
  "Infinity",
  "-1",
  "1e300",
  "18446744073709551616",
  "9223372036854775808",
  "0x",
  "0x00",
  "1.5",
  "true",
  "[]",
  "{}",
  "x".repeat(300),
  "x".repeat(5_000),
];

/** Numbers at and past every boundary a JSON field or query value could have. */
export const NASTY_NUMBERS: readonly number[] = [0, -1, 1, 1.5, -0, 8, 4095, 4096, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e20, 1e300, -1e300, 1e-300];

/** Numeric literals JSON.stringify cannot produce: overflow to Infinity, integers beyond 2^64. */
export const RAW_NUMBER_LITERALS: readonly string[] = ["1e999", "-1e999", "18446744073709551616", "9223372036854775808", "123456789012345678901234567890", "1E+300", "-0.0", "0.1e-999"];

/**
 * Path segments placed as they are, not percent-encoded: NUL, overlong NUL, a lone surrogate in UTF-8,
 * broken escapes. Not dot segments: the URL parser removes them before the service sees the path.
 */
export const RAW_SEGMENTS: readonly string[] = ["%00", "%C0%80", "%ED%A0%80", "%ED%B0%80", "%F0%9F%98%80", "%", "%ZZ", "%2F", "x%20y", "%E2%80%AE"];

export const DATES: readonly string[] = [
  "2026-11-26",
  "2026-11-26T08:00:00Z",
  "1970-01-01",
  "2000-01-01T00:00:00.000+05:30",
  "9999-12-31T23:59:59Z",
  "0000-00-00",
  "2026-02-30",
  "2026-11-26T25:61:61Z",
  "+275760-09-13T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "2026-11-26T08:00:00.1234567891234Z",
];

/** Content types a client may send: right, wrong, malformed, parameterised. */
export const CONTENT_TYPES: readonly (string | undefined)[] = [
  undefined,
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----x",
  "application/xml",
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/jsonx",
  "application/json, text/plain",
  "*/*",
  "",
  "application/",
  "application/json;;;",
  "Application/JSON",
];

export type AuthMode =
  | "valid"
  | "valid-lowercase-scheme"
  | "none"
  | "garbage"
  | "basic"
  | "empty-bearer"
  | "tampered-signature"
  | "alg-none"
  | "wrong-secret"
  | "no-exp"
  | "no-iat"
  | "aud-array"
  | "other-deployment"
  | "expired"
  | "bad-subject"
  | "huge";

export const VALID_AUTH: ReadonlySet<AuthMode> = new Set(["valid", "valid-lowercase-scheme"]);
const FORGED: readonly AuthMode[] = ["garbage", "basic", "empty-bearer", "tampered-signature", "alg-none", "wrong-secret", "no-exp", "no-iat", "aud-array", "other-deployment", "expired", "bad-subject", "huge"];

export interface FuzzRequest {
  caller: Caller;
  auth: AuthMode;
  /** The operation the request was built from, as the document names it. */
  op: string;
  /** Whether the document says that operation needs a bearer token. */
  secured: boolean;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** What was done to it, for the report. */
  notes: string[];
}

/** Everything the generators draw valid values from. */
export interface Pools {
  world: World;
  jwtSecret: string;
  /** aud of this deployment's tokens. */
  audience: string;
  /** A real sign-in message issued for Alice (its nonce may be spent). */
  challengeMessage: string;
  /** A grant Alice really signed (already relayed, so a replay). */
  signedGrant: Record<string, unknown>;
}

/** An address in every spelling: checksummed, lower, upper, a wrong EIP-55 checksum, did:pkh (this chain, another), truncated … */
export function addressVariants(address: string, chainId: number): string[] {
  const checksummed = getAddress(address);
  // An address of digits only (the zero address) has no checksum to get wrong.
  const hasLetters = /[a-fA-F]/.test(checksummed.slice(2));
  return [
    checksummed,
    checksummed.toLowerCase(),
    "0x" + checksummed.slice(2).toUpperCase(),
    ...(hasLetters ? [wrongChecksum(checksummed), `did:pkh:eip155:${chainId}:${wrongChecksum(checksummed)}`] : []),
    accountDid(chainId, checksummed),
    accountDid(chainId, checksummed.toLowerCase()),
    accountDid(1, checksummed),
    `did:pkh:eip155:99999999999999999999:${checksummed}`,
    checksummed.slice(2),
    checksummed.slice(0, 41),
    checksummed + "0",
    ` ${checksummed} `,
  ];
}

/** The address with one letter's case flipped so that its EIP-55 checksum no longer holds. */
export function wrongChecksum(address: string): string {
  const chars = [...getAddress(address)];
  for (let i = 2; i < chars.length; i++) {
    if (!/[a-fA-F]/.test(chars[i])) continue;
    const flipped = [...chars];
    flipped[i] = chars[i] === chars[i].toUpperCase() ? chars[i].toLowerCase() : chars[i].toUpperCase();
    const candidate = flipped.join("");
    try {
      getAddress(candidate);
    } catch {
      return candidate;
    }
  }
  throw new Error(`cannot break the checksum of ${address}`);
}

/** The Authorization header for `caller` in `mode`; anonymous callers forge tokens for Bob. */
export function authorizationFor(pools: Pools, caller: Caller, mode: AuthMode): string | undefined {
  const { world } = pools;
  const real = caller === "anonymous" ? undefined : world.auth[caller].authorization;
  const token = real?.slice("Bearer ".length);
  const subject = caller === "anonymous" ? world.bob.address : getAddress(world.address[caller]);
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload: object, secret = pools.jwtSecret, options: jwt.SignOptions = {}) => jwt.sign(payload, secret, { algorithm: "HS256", ...options });
  const claims = { sub: subject, iss: "consentry", aud: pools.audience, iat: now, exp: now + 600 };
  switch (mode) {
    case "valid":
      return real;
    case "valid-lowercase-scheme":
      return real && `bearer ${token}`;
    case "none":
      return undefined;
    case "garbage":
      return "Bearer not-a-token";
    case "basic":
      return "Basic dXNlcjpwYXNz";
    case "empty-bearer":
      return "Bearer ";
    case "tampered-signature": {
      const t = token ?? sign(claims);
      return `Bearer ${t.slice(0, -4)}${t.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    }
    case "alg-none": {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return `Bearer ${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
    }
    case "wrong-secret":
      return `Bearer ${sign(claims, "not-the-secret-not-the-secret-not-the-secret")}`;
    case "no-exp": {
      const { exp: _exp, ...rest } = claims;
      return `Bearer ${sign(rest)}`;
    }
    case "no-iat":
      return `Bearer ${sign({ sub: subject, iss: "consentry", aud: pools.audience, exp: now + 600 }, pools.jwtSecret, { noTimestamp: true })}`;
    case "aud-array":
      return `Bearer ${sign({ ...claims, aud: [pools.audience, "another"] })}`;
    case "other-deployment":
      return `Bearer ${sign({ ...claims, aud: `1:${"0x" + "ab".repeat(20)}` })}`;
    case "expired":
      return `Bearer ${sign({ ...claims, iat: now - 4000, exp: now - 3600 })}`;
    case "bad-subject":
      return `Bearer ${sign({ ...claims, sub: "0xnot-an-address" })}`;
    case "huge":
      return `Bearer ${"a".repeat(20_000)}`;
  }
}

/** An account nobody enrolled or granted anything. */
const STRANGER = new Wallet(keccakText("consentry edge tests: stranger")).address;

/** Values for a named slot (parameter or property), valid ones first; `erase` keeps Alice out of the admin's reach. */
export function slotValues(pools: Pools, slot: string, context: { op: string; where: "path" | "query" | "body" }): string[] {
  const { world } = pools;
  const chainId = world.chainId;
  const everyone = [world.alice.address, world.bob.address, world.carol.address, getAddress(world.address.custodian), getAddress(world.address.institution), "0x0000000000000000000000000000000000000000", STRANGER];
  const accounts = (list: string[]) => list.flatMap((a) => addressVariants(a, chainId));
  const recordIds = world.records.map((r) => r.id as string);
  switch (slot) {
    case "address":
      // The admin may erase Carol (or nobody); Alice's chart must survive the fuzz.
      return accounts([world.carol.address, world.bob.address, STRANGER]).concat(["enrol", "0x", "did:pkh:eip155:31337:"]);
    case "patient":
    case "grantee":
    case "requester":
    case "actor":
      return accounts(everyone).concat(context.where === "query" ? [] : [SYNTHEA_PATIENT]);
    case "type":
      return ["Condition", "Observation", "Patient", "Encounter", "MedicationRequest", "Immunization", "DocumentReference", "AllergyIntolerance", "Procedure", "DiagnosticReport", "CarePlan", "Device", "Consent", "AuditEvent", "Location", "condition", "OBSERVATION", "A", "A".repeat(70), "Observation.", "123"];
    case "id":
      if (context.op.startsWith("/fhir")) return [...recordIds, "no-such-record", "x".repeat(64), "x".repeat(65), "-", "a.b", SYNTHEA_PATIENT.toUpperCase()];
      if (context.op.startsWith("/consents")) return [world.consentId, world.consentId.toUpperCase().replace("0X", "0x"), "0x" + "f".repeat(64), "0x" + "g".repeat(64), "0x" + "0".repeat(63), world.consentId.slice(2)];
      if (context.op.startsWith("/audit/events")) return [...world.eventIds.slice(0, 5), "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e", "00000000-0000-0000-0000-000000000000", world.eventIds[0].toUpperCase(), "not-a-uuid"];
      return ["1", "2", "0", "-1", "9223372036854775808", "18446744073709551616", "1e300", "1.5", "abc", "0x1", "999999"];
    case "vid":
      return ["1", "2", "3", "0", "-1", "1.5", "1e3", "999999999", "9999999999", "01"];
    case "purpose":
      return [...PURPOSES.map((p) => p.code), "TREAT", "TREAT", "treat", "SNOOP", "TREAT,ETREAT"];
    case "justification":
      return ["unconscious in ER", "j".repeat(500), "j".repeat(501), "line\nbreak", "tab\tchar"];
    case "from":
    case "to":
    case "before":
      return [...DATES];
    case "after":
      return ["0", "1", "10", "1e20", "-1", "1.5", "9007199254740992", "abc"];
    case "limit":
      return ["1", "100", "1000", "1001", "0", "-1", "1e300", "abc"];
    case "signature":
      return ["0x" + "ab".repeat(65), "0x" + "00".repeat(65), "0x1234", "0x" + "ab".repeat(2_001), "0xZZ", String(pools.signedGrant.signature)];
    case "nonce":
      return ["0", "1", "42", "-1", "1".repeat(79), "0x1", "1e3"];
    case "message":
      return [pools.challengeMessage, pools.challengeMessage.replace("localhost", "evil.example"), "hello", "m".repeat(2_001)];
    case "hook":
      return ["patient-consent-consult", "patient-view", ""];
    case "hookInstance":
      return ["0b1e7c55-8d2a-4f61-a3c9-5e4d7b2a1f08", "h".repeat(201)];
    default:
      return [];
  }
}

/** Every hostile value a slot may also get: strings, numbers, null, wrong shapes. */
const hostile = fc.oneof(
  fc.constantFrom<unknown>(...NASTY_STRINGS),
  fc.constantFrom<unknown>(...NASTY_NUMBERS),
  fc.constantFrom<unknown>(null, true, false, [], {}, [null], { a: 1 }, [1, 2, 3]),
  fc.string({ maxLength: 40, unit: "binary" }),
  fc.jsonValue({ maxDepth: 3 }),
);

const rawDeep = (depth: number, open: "[" | "{") => (open === "[" ? "[".repeat(depth) + "1" + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth));

/** A body for `schema`: valid-looking values for known slots, then a few mutations. */
function schemaBody(pools: Pools, op: Operation, schema: Schema | undefined): fc.Arbitrary<{ value: unknown; notes: string[] }> {
  const valueFor = (name: string, s: Schema, depth: number): fc.Arbitrary<unknown> => {
    const known = slotValues(pools, name, { op: op.path, where: "body" });
    if (s.type === "object" && s.properties && depth < 3) return objectFor(s, depth + 1);
    if (name === "identifiers") {
      return fc.array(fc.record({ system: fc.constantFrom("urn:oid:2.16.840.1.113883.19.5", "http://hospital.smarthealthit.org", ""), value: fc.constantFrom(ALICE_MRN, SYNTHEA_PATIENT, "MRN-1", "v".repeat(257)) }), { maxLength: 3 });
    }
    if (name === "context") return cdsContext(pools);
    if (s.enum) return fc.constantFrom(...s.enum);
    if (s.type === "number") return fc.oneof(fc.constantFrom(...NASTY_NUMBERS), fc.integer({ min: 0, max: 4095 }), fc.constant(Math.floor(Date.now() / 1000) + 3600));
    if (s.type === "boolean") return fc.boolean();
    if (known.length > 0) return fc.constantFrom(...known);
    return fc.oneof(fc.string({ maxLength: 20 }), fc.constant(s.example ?? "x"));
  };
  const objectFor = (s: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> => {
    const props = Object.entries(s.properties ?? {});
    if (props.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) as fc.Arbitrary<Record<string, unknown>>;
    return fc.record(Object.fromEntries(props.map(([k, v]) => [k, valueFor(k, v, depth)])), { requiredKeys: s.required ?? [] }) as fc.Arbitrary<Record<string, unknown>>;
  };
  const base: fc.Arbitrary<unknown> = schema ? (schema.type === "object" || schema.properties ? objectFor(schema, 0) : fc.jsonValue()) : fhirResource(pools);
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([value, mutations]) => {
    const notes: string[] = [];
    let v = structuredClone(value);
    for (const m of mutations) {
      v = m(v);
      notes.push(m.label);
    }
    return { value: v, notes };
  });
}

type Mutation = ((value: unknown) => unknown) & { label: string };

const mutation: fc.Arbitrary<Mutation> = fc
  .tuple(fc.nat(10), fc.nat(1_000), hostile, fc.string({ minLength: 1, maxLength: 12 }))
  .map(([kind, pick, shared, key]) => {
    // Constants are shared between runs: never let a later mutation edit one in place.
    const replacement = structuredClone(shared);
    const label = ["drop-field", "null-field", "hostile-field", "array-for-object", "string-for-number", "unknown-field", "deep-field", "replace-body", "wrap-in-array", "raw-number", "huge-field"][kind];
    const f = ((value: unknown) => {
      if (kind === 7) return replacement;
      if (kind === 8) return [value];
      const target = pickObject(value, pick);
      if (!target) return value;
      const keys = Object.keys(target);
      const k = keys.length ? keys[pick % keys.length] : "x";
      switch (kind) {
        case 0:
          delete target[k];
          break;
        case 1:
          target[k] = null;
          break;
        case 2:
          target[k] = replacement;
          break;
        case 3:
          target[k] = [target[k]];
          break;
        case 4:
          target[k] = typeof target[k] === "number" ? String(target[k]) : typeof target[k] === "string" ? 1e300 : "1";
          break;
        case 5:
          target[key] = replacement;
          break;
        case 6:
          target[k] = `__DEEP_${[63, 64, 65, 1_000, 100_000][pick % 5]}_${pick % 2 ? "[" : "{"}__`;
          break;
        case 9:
          target[k] = `__RAW_${pick % RAW_NUMBER_LITERALS.length}__`;
          break;
        case 10:
          target[k] = "h".repeat(70_000);
          break;
      }
      return value;
    }) as Mutation;
    f.label = label;
    return f;
  });

/** An object inside `value` (itself, or a nested one), chosen by `pick`. */
function pickObject(value: unknown, pick: number): Record<string, unknown> | undefined {
  const found: Record<string, unknown>[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || !v || typeof v !== "object") return;
    if (!Array.isArray(v)) found.push(v as Record<string, unknown>);
    for (const child of Object.values(v)) walk(child, depth + 1);
  };
  walk(value, 0);
  return found.length ? found[pick % found.length] : undefined;
}

/** A CDS Hooks context: the patient by did:pkh, address or the hospital's MRN, an actor, purposes, classes. */
function cdsContext(pools: Pools): fc.Arbitrary<unknown> {
  const { world } = pools;
  const ids = [
    { system: "urn:ietf:rfc:3986", value: accountDid(world.chainId, world.alice.address) },
    { system: "urn:oid:2.16.840.1.113883.19.5", value: ALICE_MRN },
    { system: "http://hospital.smarthealthit.org", value: SYNTHEA_PATIENT },
    { value: world.alice.address.toLowerCase() },
    { value: wrongChecksum(world.alice.address) },
    { system: "urn:oid:2.16.840.1.113883.19.5", value: "MRN-nobody" },
  ];
  return fc.record(
    {
      patientId: fc.oneof(fc.constantFrom(...ids), fc.array(fc.constantFrom(...ids), { maxLength: 3 }), hostile),
      actor: fc.oneof(fc.constantFrom({ value: accountDid(world.chainId, world.address.institution) }, { value: "did:web:evil.example" }), hostile),
      purposeOfUse: fc.oneof(fc.constantFrom("TREAT", ["TREAT", "HRESCH"], "SNOOP", []), hostile),
      class: fc.oneof(fc.constant([{ system: "urn:consentry:category", code: "conditions" }]), fc.constant([{ code: "nope" }]), hostile),
    },
    { requiredKeys: [] },
  );
}

/** A FHIR resource to write: one the hospital stored, or a new lab result, for Alice or Carol or nobody. */
function fhirResource(pools: Pools): fc.Arbitrary<unknown> {
  const { world } = pools;
  return fc.oneof(
    fc.constantFrom(...world.records).map((r) => {
      const { meta: _meta, ...rest } = r;
      return rest;
    }),
    fc.constantFrom(`Patient/${SYNTHEA_PATIENT}`, accountDid(world.chainId, world.carol.address), "Patient/nobody", accountDid(world.chainId, wrongChecksum(world.alice.address))).map((subject) => ({
      resourceType: "Observation",
      status: "final",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] }],
      code: { coding: [{ system: "http://loinc.org", code: "2339-0" }] },
      subject: subject.startsWith("did:") ? { identifier: { system: "urn:ietf:rfc:3986", value: subject } } : { reference: subject },
      effectiveDateTime: "2026-11-01T08:00:00Z",
      valueQuantity: { value: 101, unit: "mg/dL" },
    })),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

/** Serialises a body, splicing in what JSON.stringify cannot write: deep nesting, out-of-range literals. */
export function serialise(value: unknown): string {
  let text = JSON.stringify(value) ?? "null";
  text = text.replace(/"__DEEP_(\d+)_([[{])__"/g, (_, depth: string, open: "[" | "{") => rawDeep(Number(depth), open));
  text = text.replace(/"__RAW_(\d+)__"/g, (_, i: string) => RAW_NUMBER_LITERALS[Number(i)]);
  return text;
}

/** Raw body texts that are not JSON, or barely. */
const RAW_BODIES: readonly string[] = ["", "{", '{"a":', "nul", '{"a":1}garbage', "\u0000", "\ufeff{}", '{"a":1,"a":2}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}', "[]", "null", "0", '"text"', "\ud800", '{"a":"\\ud800"}', '{"a":"\\u0000"}', "a=1&b=2"];

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is written as the three bytes a
 * lenient encoder would produce (WTF-8: U+D800 → %ED%A0%80), so the service still receives it.
 */
export function encodeLoose(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value]
      .map((ch) => {
        const u = ch.charCodeAt(0);
        if (ch.length === 1 && u >= 0xd800 && u <= 0xdfff) {
          return [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)].map((b) => "%" + b.toString(16).toUpperCase()).join("");
        }
        return encodeURIComponent(ch);
      })
      .join("");
  }
}

const encodeSegment = encodeLoose;

/**
 * A request for one operation of the document: its path parameters, query and body filled from the pools,
 * from hostile values, or from nothing; sometimes a method the path does not serve, a mangled path, a
 * wrong content type or a hostile header; as any caller, with a valid or a forged token.
 */
export function requestFor(pools: Pools, op: Operation, allowedOnPath: string[]): fc.Arbitrary<FuzzRequest> {
  const slot = (name: string, where: "path" | "query") => {
    const known = slotValues(pools, name, { op: op.path, where });
    const options: Array<fc.WeightedArbitrary<{ text: string; raw: boolean }>> = [
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS.filter((s) => where === "query" || (s !== "" && s !== "." && s !== ".."))).map((text) => ({ text, raw: false })) },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30, unit: "binary" }).filter((s) => s !== "." && s !== "..").map((text) => ({ text, raw: false })) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((text) => ({ text, raw: true })) },
    ];
    if (known.length > 0) options.unshift({ weight: 8, arbitrary: fc.constantFrom(...known).map((text) => ({ text, raw: false })) });
    return fc.oneof(...options);
  };
  const unknownMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"].filter((m) => !allowedOnPath.includes(m) && !(m === "HEAD" && allowedOnPath.includes("GET")));

  return fc
    .record({
      caller: fc.constantFrom(...CALLERS),
      auth: fc.oneof({ weight: 12, arbitrary: fc.constant<AuthMode>("valid") }, { weight: 1, arbitrary: fc.constant<AuthMode>("valid-lowercase-scheme") }, { weight: 3, arbitrary: fc.constantFrom<AuthMode>(...FORGED) }),
      method: unknownMethods.length ? fc.oneof({ weight: 14, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...unknownMethods) }) : fc.constant(op.method),
      params: fc.tuple(...op.pathParams.map((p) => slot(p, "path")), fc.constant(null)),
      pathMangle: fc.oneof({ weight: 20, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("trailing-slash", "double-slash", "extra-segment", "upper-case") }),
      query: fc.tuple(...op.query.map((q) => fc.option(slot(q.name, "query"), { freq: 3 })), fc.constant(null)),
      extraQuery: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("unknown=1", "limit[]=1", "after[$gt]=0", "patient=a&patient=b", "purpose=TREAT&purpose=ETREAT", "__proto__[x]=1", "%00=%00", "a=%ED%A0%80", "q=" + "q".repeat(10_000)) }),
      // Writes get a body almost always; other requests now and then (a body on a GET, or on an action without one).
      body: fc.oneof(
        { weight: op.method === "POST" || op.method === "PUT" ? 1 : 12, arbitrary: fc.constant(null) },
        { weight: op.method === "POST" || op.method === "PUT" ? 12 : 1, arbitrary: schemaBody(pools, op, op.body) },
      ),
      rawBody: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) }),
      contentType: fc.oneof({ weight: 10, arbitrary: fc.constant<string | undefined>(op.path.startsWith("/fhir") ? "application/fhir+json" : "application/json") }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
      header: fc.oneof(
        { weight: 10, arbitrary: fc.constant<[string, string] | null>(null) },
        {
          weight: 2,
          arbitrary: fc.constantFrom<[string, string]>(
            ["if-match", 'W/"1"'],
            ["if-match", 'W/"99999999999999999999"'],
            ["if-match", "*"],
            ["if-match", '"\u0000"'],
            ["accept", "application/xml"],
            ["origin", "https://evil.example"],
            ["x-forwarded-for", "1.2.3.4, ::1, garbage"],
            ["content-length", "1"],
            ["content-length", "99999999999"],
            ["content-encoding", "gzip"],
            ["transfer-encoding", "chunked"],
            ["x-huge", "h".repeat(20_000)],
          ),
        },
      ),
    })
    .map((r) => {
      const notes: string[] = [];
      const values = r.params.slice(0, -1) as Array<{ text: string; raw: boolean }>;
      let i = 0;
      let path = op.path.replace(/\{[^}]+\}/g, () => {
        const v = values[i++];
        return v.raw ? v.text : encodeSegment(v.text);
      });
      if (r.pathMangle) {
        notes.push(r.pathMangle);
        if (r.pathMangle === "trailing-slash") path += "/";
        if (r.pathMangle === "double-slash") path = path.replace(/^\/([^/]+)\//, "/$1//");
        if (r.pathMangle === "extra-segment") path += "/extra";
        if (r.pathMangle === "upper-case") path = path.toUpperCase();
      }
      const query: string[] = [];
      (r.query.slice(0, -1) as Array<{ text: string; raw: boolean } | null>).forEach((v, k) => {
        if (v) query.push(`${op.query[k].name}=${v.raw ? v.text : encodeLoose(v.text)}`);
      });
      if (r.extraQuery) {
        query.push(r.extraQuery);
        notes.push("query:" + r.extraQuery.slice(0, 30));
      }
      // An institution reading needs a purpose; give it the right one most of the time.
      const headers: Record<string, string> = {};
      const authorization = authorizationFor(pools, r.caller, r.caller === "anonymous" && VALID_AUTH.has(r.auth) ? "none" : r.auth);
      if (authorization !== undefined) headers.authorization = authorization;
      let payload: string | undefined;
      if (r.rawBody !== null) {
        payload = r.rawBody;
        notes.push("raw-body");
      } else if (r.body) {
        payload = serialise(r.body.value);
        notes.push(...r.body.notes);
      }
      if (payload !== undefined && r.contentType !== undefined) headers["content-type"] = r.contentType;
      if (payload !== undefined && r.contentType !== (op.path.startsWith("/fhir") ? "application/fhir+json" : "application/json")) notes.push(`content-type:${r.contentType}`);
      if (r.header) {
        headers[r.header[0]] = r.header[1];
        notes.push(`header:${r.header[0]}`);
      }
      return {
        caller: r.caller,
        auth: r.caller === "anonymous" && VALID_AUTH.has(r.auth) ? "none" : r.auth,
        op: `${op.method} ${op.path}`,
        secured: op.secured,
        method: r.method,
        url: path + (query.length ? "?" + query.join("&") : ""),
        headers,
        payload,
        notes,
      };
    });
}
