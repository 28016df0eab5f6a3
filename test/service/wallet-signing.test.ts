import { recoverTypedSignature, signTypedData, SignTypedDataVersion, type MessageTypes, type TypedMessage } from "@metamask/eth-sig-util";
import { Wallet } from "ethers";
import type { Deployment } from "../../service/chain/deployment";
import { identifiersHash } from "../../service/patients/identifiers";
import { signIn, walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

const PROBLEM = "urn:consentry:problem:";

type Payload = TypedMessage<MessageTypes>;

/**
 * A wallet signs with nothing but what the service publishes: the `eth_signTypedData_v4` templates of
 * /.well-known/consentry, filled in and signed with MetaMask's own library (the code MetaMask runs for
 * eth_signTypedData_v4), and the service accepts the signatures: enrolment, grant, revocation.
 */
describe("wallet-ready signing", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  const patient = new Wallet(Wallet.createRandom().privateKey);
  const hospital = walletOf("institution", 0);
  const lab = walletOf("institution", 1);
  let discovery: { eip712: { types: Record<string, unknown>; payloads: Record<"grant" | "revoke" | "enrolment", Payload> } };

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "100" } });
    discovery = (await service.request({ method: "GET", url: "/.well-known/consentry" })).body;
  });

  afterAll(() => service?.close());

  /** The published template with its placeholders replaced, as a wallet app would fill it. */
  const fill = (kind: "grant" | "revoke" | "enrolment", values: Record<string, string | number>): Payload => {
    const template = structuredClone(discovery.eip712.payloads[kind]);
    for (const key of Object.keys(template.message)) {
      expect(String(template.message[key])).toMatch(/^\{.+\}$/);
      expect(values).toHaveProperty(key);
    }
    return { ...template, message: values };
  };
  const metamaskSign = (wallet: Wallet, data: Payload) =>
    signTypedData({ privateKey: Buffer.from(wallet.privateKey.slice(2), "hex"), data, version: SignTypedDataVersion.V4 });
  const deadline = () => Math.floor(Date.now() / 1000) + 3600;

  it("publishes EIP712Domain among the types and complete payload templates", () => {
    expect(discovery.eip712.types.EIP712Domain).toEqual([
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
    ]);
    for (const [kind, primaryType] of [["grant", "Grant"], ["revoke", "Revoke"], ["enrolment", "Enrolment"]] as const) {
      const payload = discovery.eip712.payloads[kind];
      expect(payload.primaryType).toBe(primaryType);
      expect(Object.keys(payload.types).sort()).toEqual(["EIP712Domain", primaryType].sort());
      expect(payload.domain).toEqual({ name: "Consentry ConsentRegistry", version: "2", chainId: deployment.chainId, verifyingContract: deployment.contracts.ConsentRegistry.address });
    }
  });

  it("enrols, grants and revokes with signatures made by eth-sig-util from the templates", async () => {
    const hospitalAuth = await signIn(service, hospital);
    const identifiers = [{ system: "urn:oid:2.16.840.1.113883.19.5", value: "MRN-WALLET-1" }];
    const enrolment = fill("enrolment", { patient: patient.address, custodian: hospital.address, identifiersHash: identifiersHash(identifiers), deadline: deadline() });
    const enrolled = await service.request({
      method: "POST",
      url: "/patients/enrol",
      headers: hospitalAuth,
      payload: { patient: patient.address, identifiers, deadline: enrolment.message.deadline, signature: metamaskSign(patient, enrolment) },
    });
    expect(enrolled.status).toBe(201);

    const patientAuth = await signIn(service, patient);
    const nonce = await service.request({ method: "GET", url: `/patients/${patient.address.toLowerCase()}/nonce`, headers: patientAuth });
    expect(nonce.status).toBe(200);
    expect(nonce.body).toEqual({ patient: patient.address, nonce: "0", blockNumber: expect.any(Number) });

    const terms = { patient: patient.address, grantee: lab.address, categories: 1 << 2, purposes: 1, effect: 0, validFrom: 0, validUntil: 0 };
    const grant = fill("grant", { ...terms, nonce: nonce.body.nonce, deadline: deadline() });
    const signature = metamaskSign(patient, grant);
    // The signature recovers to the patient: the published payload is complete.
    expect(recoverTypedSignature({ data: grant, signature, version: SignTypedDataVersion.V4 })).toBe(patient.address.toLowerCase());
    const granted = await service.request({
      method: "POST",
      url: "/consents",
      headers: patientAuth,
      payload: { terms, nonce: nonce.body.nonce, deadline: grant.message.deadline, signature, wait: true },
    });
    expect([granted.status, granted.body.status]).toEqual([201, "active"]);

    // The nonce moved on, as the chain says.
    const next = await service.request({ method: "GET", url: `/patients/${patient.address}/nonce`, headers: await signIn(service, lab) });
    expect(next.body.nonce).toBe("1");

    const revoke = fill("revoke", { consentId: granted.body.consentId, deadline: deadline() });
    const revoked = await service.request({
      method: "POST",
      url: `/consents/${granted.body.consentId}/revoke`,
      headers: patientAuth,
      payload: { deadline: revoke.message.deadline, signature: metamaskSign(patient, revoke), wait: true },
    });
    expect([revoked.status, revoked.body.status]).toEqual([200, "revoked"]);
  });

  it("shows why EIP712Domain must be listed: without it, V4 signs another digest", async () => {
    const grant = fill("grant", { patient: patient.address, grantee: lab.address, categories: 4, purposes: 1, effect: 0, validFrom: 0, validUntil: 0, nonce: "1", deadline: deadline() });
    const { EIP712Domain: _domain, ...withoutDomain } = grant.types;
    const truncated = { ...grant, types: withoutDomain as MessageTypes };
    const signature = metamaskSign(patient, truncated);
    expect(recoverTypedSignature({ data: grant, signature, version: SignTypedDataVersion.V4 })).not.toBe(patient.address.toLowerCase());
  });

  it("refuses a nonce request for a malformed address as a problem", async () => {
    const res = await service.request({ method: "GET", url: "/patients/0x1234/nonce", headers: await signIn(service, lab) });
    expect([res.status, res.body.type]).toEqual([400, PROBLEM + "validation-failed"]);
  });
});

describe("sign-in names the host the client used", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  const alice = walletOf("patient", 0);

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider });
  });

  afterAll(() => service?.close());

  const challenge = (host: string) => service.request({ method: "POST", url: "/auth/challenge", headers: { host }, payload: { address: alice.address } });
  const token = async (host: string, message: string) =>
    service.request({ method: "POST", url: "/auth/token", headers: { host }, payload: { message, signature: await alice.signMessage(message) } });

  it("names an allowed Host header and its scheme, and accepts the signature there", async () => {
    const res = await challenge("127.0.0.1:3000");
    expect(res.status).toBe(200);
    expect(res.body.message.split("\n")[0]).toBe("127.0.0.1:3000 wants you to sign in with your Ethereum account:");
    expect(res.body.message).toContain("\nURI: http://127.0.0.1:3000\n");
    expect((await token("127.0.0.1:3000", res.body.message)).status).toBe(200);

    const local = await challenge("localhost:8080");
    expect(local.body.message.startsWith("localhost:8080 wants you")).toBe(true);
  });

  it("refuses a Host header that is not allowed, and a message issued for another host", async () => {
    const evil = await challenge("evil.example");
    expect([evil.status, evil.body.type]).toEqual([400, PROBLEM + "sign-in-host-not-allowed"]);
    const issued = await challenge("localhost:3000");
    const elsewhere = await token("127.0.0.1:3000", issued.body.message);
    expect([elsewhere.status, elsewhere.body.type]).toEqual([401, PROBLEM + "invalid-sign-in-message"]);
  });

  it("names PUBLIC_URL when it is set, whatever the Host header says", async () => {
    const behindProxy = await startTestService({ deployment, provider: chain.provider, env: { PUBLIC_URL: "https://consentry.example.org" } });
    try {
      const res = await behindProxy.request({ method: "POST", url: "/auth/challenge", headers: { host: "10.0.0.7:3000" }, payload: { address: alice.address } });
      expect(res.status).toBe(200);
      expect(res.body.message.split("\n")[0]).toBe("consentry.example.org wants you to sign in with your Ethereum account:");
      expect(res.body.message).toContain("\nURI: https://consentry.example.org\n");
      const signed = await behindProxy.request({ method: "POST", url: "/auth/token", headers: { host: "10.0.0.7:3000" }, payload: { message: res.body.message, signature: await alice.signMessage(res.body.message) } });
      expect(signed.status).toBe(200);
    } finally {
      await behindProxy.close();
    }
  });
});
