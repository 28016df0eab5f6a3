import { id as keccakText, type JsonRpcApiProvider, Wallet } from "ethers";
import type { Deployment } from "../../../service/chain/deployment";
import { walletOf } from "../../support/actors";
import { consentClient } from "../../support/consent-fixture";
import type { TestService } from "../../support/service";
import { labObservation, recordsOf, type FhirJson } from "../../support/synthea";
import { demoAccount } from "../../../scripts/lib/demo-accounts";

/** The first Synthea patient of the committed sample: Alice's chart. */
export const SYNTHEA_PATIENT = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4";
/** A hospital-local medical record number for Alice, distinctive enough to grep for in bodies and logs. */
export const ALICE_MRN = "MRN-QX7405-19286";
/** The sacrificial patient's local MRN (the one the fuzz may erase). */
export const CAROL_MRN = "MRN-ZK3318-55027";
const MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5";
const SYNTHEA_MRN_SYSTEM = "http://hospital.smarthealthit.org";
const CONDITIONS = 1 << 2;

/** The callers the edge tests act as. `anonymous` sends no token. */
export type Caller = "anonymous" | "custodian" | "institution" | "patient" | "regulator" | "admin";
export const CALLERS: readonly Caller[] = ["anonymous", "custodian", "institution", "patient", "regulator", "admin"];

/** Anything with the test service's `request` (Fastify inject, or HTTP to a service process). */
export type Requester = Pick<TestService, "request">;

export interface World {
  chainId: number;
  alice: Wallet;
  bob: Wallet;
  /** Enrolled at the hospital with one record; the only patient an admin may erase in the fuzz. */
  carol: Wallet;
  /** Authorization headers by caller (anonymous: none). */
  auth: Record<Caller, Record<string, string>>;
  /** The account behind each authenticated caller, lower-case. */
  address: Record<Exclude<Caller, "anonymous">, string>;
  /** Bearer tokens issued during seeding (to look for in logs). */
  tokens: string[];
  /** What the hospital stored, by resource type and id. */
  records: FhirJson[];
  /** Alice's consent to the lab (conditions, treatment). */
  consentId: string;
  /** The grant Alice signed for it, as relayed (a replay is refused: its nonce is spent). */
  grant: { terms: Record<string, unknown>; nonce: string; deadline: number; signature: string };
  /** Ids of events already in the trail after seeding. */
  eventIds: string[];
  /** Strings of Alice's and Carol's health records and identity that must never leak: names, MRNs, codes, ids … */
  sensitive: string[];
}

/**
 * A small realistic world: Alice enrolled at St Mary's (institution 0) with two identifiers, her Synthea
 * chart plus a lab result published, one consent from Alice to Northside Lab (institution 1); Carol
 * enrolled with one record. Signs every caller in.
 */
export async function seedWorld(service: Requester, provider: JsonRpcApiProvider, deployment: Deployment): Promise<World> {
  const client = consentClient(service as TestService, provider, deployment);
  const alice = walletOf("patient", 0);
  const bob = walletOf("patient", 1);
  // Deterministic, and no demo account: nothing else in the suite knows her.
  const carol = new Wallet(keccakText("consentry edge tests: carol"));
  const hospitalWallet = walletOf("institution", 0);
  const tokens: string[] = [];
  const signIn = async (wallet: Wallet) => {
    const headers = await client.signIn(wallet);
    tokens.push(headers.authorization.slice("Bearer ".length));
    return headers;
  };

  const custodian = await signIn(hospitalWallet);
  const enrolled = await client.enrol(alice, custodian, hospitalWallet, [
    { system: SYNTHEA_MRN_SYSTEM, value: SYNTHEA_PATIENT },
    { system: MRN_SYSTEM, value: ALICE_MRN },
  ]);
  if (enrolled.status !== 201) throw new Error(`enrol Alice: ${enrolled.status} ${enrolled.text}`);
  const carolEnrolled = await client.enrol(carol, custodian, hospitalWallet, [{ system: MRN_SYSTEM, value: CAROL_MRN }]);
  if (carolEnrolled.status !== 201) throw new Error(`enrol Carol: ${carolEnrolled.status} ${carolEnrolled.text}`);

  const auth: World["auth"] = {
    anonymous: {},
    custodian,
    institution: await signIn(walletOf("institution", 1)),
    patient: await signIn(alice),
    regulator: await signIn(walletOf("regulator", 0)),
    admin: await signIn(walletOf("admin", 0)),
  };

  const records: FhirJson[] = [];
  const { patient, records: chart } = recordsOf(SYNTHEA_PATIENT);
  for (const resource of [patient, ...chart]) {
    const res = await service.request({
      method: "PUT",
      url: `/fhir/${resource.resourceType}/${resource.id}`,
      headers: { ...custodian, "content-type": "application/fhir+json" },
      payload: JSON.stringify(resource),
    });
    if (res.status !== 201) throw new Error(`publish ${resource.resourceType}: ${res.status} ${res.text}`);
    records.push(res.body);
  }
  for (const [subject, value] of [[`Patient/${SYNTHEA_PATIENT}`, 97], [accountDid(deployment.chainId, carol.address), 131]] as const) {
    const res = await service.request({ method: "POST", url: "/fhir/Observation", headers: custodian, payload: labObservation(subject, value) });
    if (res.status !== 201) throw new Error(`publish Observation: ${res.status} ${res.text}`);
    records.push(res.body);
  }

  const signed = await client.signGrant(alice, client.terms(alice, { grantee: demoAccount("institution", 1).address, categories: CONDITIONS }));
  const granted = await service.request({ method: "POST", url: "/consents", headers: auth.patient, payload: { ...signed, wait: true } });
  if (granted.status !== 201) throw new Error(`consent: ${granted.status} ${granted.text}`);

  const events = await service.request({ method: "GET", url: "/audit/events?limit=1000", headers: auth.regulator });
  return {
    chainId: deployment.chainId,
    alice,
    bob,
    carol,
    auth,
    address: {
      custodian: hospitalWallet.address.toLowerCase(),
      institution: demoAccount("institution", 1).address.toLowerCase(),
      patient: alice.address.toLowerCase(),
      regulator: demoAccount("regulator").address.toLowerCase(),
      admin: demoAccount("admin").address.toLowerCase(),
    },
    tokens,
    records,
    consentId: granted.body.consentId,
    grant: { ...signed, terms: { ...signed.terms } },
    eventIds: (events.body.events as Array<{ id: string }>).map((e) => e.id),
    sensitive: sensitiveStrings([patient, ...chart, ...records.slice(-2)]),
  };
}

export const accountDid = (chainId: number, address: string) => `did:pkh:eip155:${chainId}:${address}`;

/**
 * The distinctive strings of a set of FHIR resources: ids, identifier values, names, birth dates,
 * telecom and address lines, and every coding's code (5+ characters) and display, and concept texts.
 * Short or generic values ("final", "F", "US") are left out: they would match innocent text.
 */
export function sensitiveStrings(resources: FhirJson[]): string[] {
  const found = new Set<string>([ALICE_MRN, CAROL_MRN]);
  const add = (value: unknown, min = 6) => {
    if (typeof value === "string" && value.length >= min && !/^https?:|^urn:/.test(value)) found.add(value);
  };
  // Generic vocabulary, not record content: race and ethnicity extensions, the generated narrative,
  // identifier types ("Medical Record Number"), languages, marital status, and category codes the API
  // itself names in its problems ("laboratory").
  const SKIP = new Set(["extension", "communication", "maritalStatus", "category", "meta"]);
  const walk = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, path));
    if (!node || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    const key = path.at(-1) ?? "";
    if (key === "name") {
      add(o.family, 4);
      (o.given as unknown[] | undefined)?.forEach((g) => add(g, 4));
    }
    if (key === "telecom") add(o.value);
    if (key === "address") (o.line as unknown[] | undefined)?.forEach((l) => add(l));
    if (key === "identifier") {
      add(o.value);
      return;
    }
    // Status and role codings (terminology.hl7.org: "active", "confirmed") are vocabulary, not content.
    if (key === "coding" && !String(o.system ?? "").startsWith("http://terminology.hl7.org/")) {
      add(o.code, 5);
      add(o.display, 8);
    }
    if (typeof o.text === "string" && Array.isArray(o.coding)) add(o.text, 8);
    for (const [k, v] of Object.entries(o)) if (!SKIP.has(k)) walk(v, [...path, k]);
  };
  for (const resource of resources) {
    add(resource.id);
    add(resource.birthDate);
    walk(resource, []);
  }
  return [...found];
}
