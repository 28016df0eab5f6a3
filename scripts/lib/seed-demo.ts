import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { Deployment } from "../../service/chain/deployment";
import { consentDomain, ENROLMENT_TYPES, GRANT_TYPES } from "../../service/domain/eip712";
import { PROJECT_ROOT } from "../../service/paths";
import { identifiersHash } from "../../service/patients/identifiers";
import { isSupportedResourceType } from "../../service/records/resource-rules";
import { demoAccount, demoAccounts } from "./demo-accounts";

/** The Synthea patient (test/fixtures/synthea, Apache-2.0, synthetic) who becomes demo patient Alice. */
const SYNTHEA_PATIENT = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4";
const MRN_SYSTEM = "http://hospital.smarthealthit.org";

/**
 * Names the demo institutions in the directory through the API, as the registry's admin would
 * (`POST /institutions`): their roles are already on chain, so no transaction is sent.
 */
export async function nameDemoInstitutions(app: NestFastifyApplication): Promise<void> {
  const inject = async (url: string, headers: Record<string, string>, payload: object) => {
    const res = await app.getHttpAdapter().getInstance().inject({ method: "POST", url, headers, payload });
    if (res.statusCode >= 300) throw new Error(`POST ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body);
  };
  const admin = new Wallet(demoAccount("admin").privateKey);
  const { message } = await inject("/auth/challenge", {}, { address: admin.address });
  const { accessToken } = await inject("/auth/token", {}, { message, signature: await admin.signMessage(message) });
  for (const account of demoAccounts().filter((a) => a.role === "institution")) {
    await inject("/institutions", { authorization: `Bearer ${accessToken}` }, { address: account.address, name: account.name, wait: true });
  }
}

/**
 * Seeds the demo stack through the public API, as real clients would: St Mary's enrols Alice and
 * publishes her Synthea chart; Alice lets Northside Lab read her conditions for treatment.
 */
export async function seedDemo(app: NestFastifyApplication, deployment: Deployment): Promise<string[]> {
  const http = async (method: string, url: string, headers: Record<string, string>, payload?: unknown) => {
    const res = await app.getHttpAdapter().getInstance().inject({ method: method as "GET", url, headers, payload: payload as object });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body);
  };
  const signIn = async (wallet: Wallet) => {
    const { message } = await http("POST", "/auth/challenge", {}, { address: wallet.address });
    const { accessToken } = await http("POST", "/auth/token", {}, { message, signature: await wallet.signMessage(message) });
    return { authorization: `Bearer ${accessToken}` };
  };
  const hospitalWallet = new Wallet(demoAccount("institution", 0).privateKey);
  const alice = new Wallet(demoAccount("patient", 0).privateKey);
  const domain = consentDomain(deployment);
  const deadline = Math.floor(Date.now() / 1000) + 3600;

  const hospital = await signIn(hospitalWallet);
  const identifiers = [{ system: MRN_SYSTEM, value: SYNTHEA_PATIENT }];
  const enrolment = await alice.signTypedData(domain, ENROLMENT_TYPES, {
    patient: alice.address,
    custodian: hospitalWallet.address,
    identifiersHash: identifiersHash(identifiers),
    deadline,
  });
  await http("POST", "/patients/enrol", hospital, { patient: alice.address, identifiers, deadline, signature: enrolment });

  const chart = readFileSync(join(PROJECT_ROOT, "test/fixtures/synthea/sample.ndjson"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
    .filter((r) => isSupportedResourceType(r.resourceType) && (r.id === SYNTHEA_PATIENT || JSON.stringify(r).includes(`Patient/${SYNTHEA_PATIENT}`)));
  for (const resource of chart) await http("PUT", `/fhir/${resource.resourceType}/${resource.id}`, hospital, resource);

  const aliceAuth = await signIn(alice);
  const terms = { patient: alice.address, grantee: demoAccount("institution", 1).address, categories: 1 << 2, purposes: 1, effect: 0, validFrom: 0, validUntil: 0 };
  const signature = await alice.signTypedData(domain, GRANT_TYPES, { ...terms, nonce: "0", deadline });
  const consent = await http("POST", "/consents", aliceAuth, { terms, nonce: "0", deadline, signature, wait: true });
  const condition = chart.find((r) => r.resourceType === "Condition");
  return [
    `Alice (${alice.address}) is enrolled at St Mary's Hospital with ${chart.length} Synthea records`,
    `Alice lets Northside Lab read her conditions for treatment: consent ${consent.consentId}`,
    `Try: as Northside Lab, GET /fhir/Condition/${condition?.id}?purpose=TREAT — then GET /audit/events as patient Alice`,
  ];
}
