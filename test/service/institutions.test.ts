import { Contract, Wallet } from "ethers";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { ROLES } from "../../service/domain/roles";
import { signIn, walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

const PROBLEM = "urn:consentry:problem:";

/**
 * The institution directory against a real chain and database: roles come from the indexed role events,
 * names from the admin's registrations; registering grants the role on chain with the service's registrar
 * key, and repeating it changes nothing.
 */
describe("institution directory", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let admin: Record<string, string>;
  let alice: Record<string, string>;
  let hospital: Record<string, string>;
  const clinic = Wallet.createRandom();

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "100" } });
    const client = consentClient(service, chain.provider, deployment);
    admin = await signIn(service, walletOf("admin"));
    hospital = await signIn(service, walletOf("institution", 0));
    expect((await client.enrol(walletOf("patient", 0), hospital)).status).toBe(201);
    alice = await signIn(service, walletOf("patient", 0));
  });

  afterAll(() => service?.close());

  const get = (url: string, headers: Record<string, string>) => service.request({ method: "GET", url, headers });
  const register = (headers: Record<string, string>, payload: unknown) => service.request({ method: "POST", url: "/institutions", headers, payload });

  it("lists the institutions the chain granted, before they have names", async () => {
    const res = await get("/institutions", alice);
    expect(res.status).toBe(200);
    expect(res.body.basedOnBlock).toBeGreaterThan(0);
    const northside = res.body.institutions.find((i: { address: string }) => i.address === demoAccount("institution", 1).address);
    expect(northside).toEqual({ address: demoAccount("institution", 1).address, name: null, role: "institution", holdsRole: true, since: expect.any(Number), block: expect.any(Number) });
  });

  it("lets the admin name an institution that holds the role, without a transaction; again changes nothing", async () => {
    const lab = demoAccount("institution", 1).address;
    const registrarNonce = await chain.provider.getTransactionCount(demoAccount("registrar").address);
    const first = await register(admin, { address: lab.toLowerCase(), name: "  Northside   Lab " });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: "registered", changed: true, institution: { address: lab, name: "Northside Lab", holdsRole: true } });
    expect(first.body.transaction).toBeUndefined();
    const again = await register(admin, { address: lab, name: "Northside Lab" });
    expect([again.status, again.body.changed]).toEqual([200, false]);
    expect(await chain.provider.getTransactionCount(demoAccount("registrar").address)).toBe(registrarNonce);

    // A patient sees that 0x15d3… is Northside Lab.
    const entry = await get(`/institutions/${lab.toLowerCase()}`, alice);
    expect([entry.status, entry.body.name, entry.body.address]).toEqual([200, "Northside Lab", lab]);
    expect(lab.startsWith("0x15d3")).toBe(true);
  });

  it("grants the role on chain through the registrar's writer, then lists the new institution as indexed", async () => {
    const res = await register(admin, { address: clinic.address, name: "Riverside Clinic", wait: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "registered", changed: true, institution: { address: clinic.address, name: "Riverside Clinic", holdsRole: true } });
    expect(res.body.transaction).toMatchObject({ hash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.any(Number) });
    const registry = new Contract(deployment.contracts.ConsentRegistry.address, ["function hasRole(bytes32,address) view returns (bool)"], chain.provider);
    expect(await registry.hasRole(ROLES.institution, clinic.address)).toBe(true);
    const mined = await chain.provider.getTransactionReceipt(res.body.transaction.hash);
    expect(mined!.from).toBe(demoAccount("registrar").address);

    const listed = (await get("/institutions", hospital)).body.institutions;
    expect(listed.map((i: { name: string | null }) => i.name).slice(0, 2)).toEqual(["Northside Lab", "Riverside Clinic"]);

    // Registering it again sends nothing.
    const again = await register(admin, { address: clinic.address, name: "Riverside Clinic", wait: true });
    expect([again.status, again.body.changed, again.body.transaction]).toEqual([200, false, undefined]);
  });

  it("shows a revocation on chain as no longer holding the role, name kept", async () => {
    const registry = new Contract(deployment.contracts.ConsentRegistry.address, ["function revokeRole(bytes32,address)"], chain.signers[0]);
    await (await registry.revokeRole(ROLES.institution, clinic.address)).wait();
    const deadline = Date.now() + 5_000;
    let entry;
    do {
      entry = (await get(`/institutions/${clinic.address}`, alice)).body;
      if (entry.holdsRole) await new Promise((r) => setTimeout(r, 50));
    } while (entry.holdsRole && Date.now() < deadline);
    expect(entry).toMatchObject({ name: "Riverside Clinic", holdsRole: false });
    // Registering it again grants the role again.
    const back = await register(admin, { address: clinic.address, name: "Riverside Clinic", wait: true });
    expect([back.status, back.body.status, back.body.institution.holdsRole]).toEqual([201, "registered", true]);
  });

  it("refuses callers that are not the registry's admin, duplicate names, the zero address and bad input as problems", async () => {
    const asHospital = await register(hospital, { address: Wallet.createRandom().address, name: "Rogue" });
    expect([asHospital.status, asHospital.body.type]).toEqual([403, PROBLEM + "role-required"]);
    expect(asHospital.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const taken = await register(admin, { address: Wallet.createRandom().address, name: "NORTHSIDE lab" });
    expect([taken.status, taken.body.type]).toEqual([409, PROBLEM + "institution-name-in-use"]);

    const zero = await register(admin, { address: "0x" + "0".repeat(40), name: "Nobody" });
    expect([zero.status, zero.body.type]).toEqual([400, PROBLEM + "invalid-institution"]);

    for (const payload of [{ address: "0x1234", name: "x" }, { address: clinic.address, name: "" }, { address: clinic.address, name: "   " }, { address: clinic.address, name: "a\u0001b" }, { address: clinic.address, name: "n".repeat(101) }]) {
      const res = await register(admin, payload);
      expect([JSON.stringify(payload), res.status, res.body.type]).toEqual([JSON.stringify(payload), 400, PROBLEM + "validation-failed"]);
    }

    const unknown = await get(`/institutions/${Wallet.createRandom().address}`, alice);
    expect([unknown.status, unknown.body.type]).toEqual([404, PROBLEM + "institution-not-found"]);
    const anonymous = await service.request({ method: "GET", url: "/institutions" });
    expect([anonymous.status, anonymous.body.type]).toEqual([401, PROBLEM + "missing-token"]);
  });

  it("answers 503 when no registrar key is configured, and grants nothing", async () => {
    const readOnly = await startTestService({ deployment, provider: chain.provider, env: { REGISTRAR_PRIVATE_KEY: "" } });
    try {
      const adminThere = await signIn(readOnly, walletOf("admin"));
      const res = await readOnly.request({ method: "POST", url: "/institutions", headers: adminThere, payload: { address: Wallet.createRandom().address, name: "Nowhere" } });
      expect([res.status, res.body.type]).toEqual([503, PROBLEM + "signer-not-configured"]);
    } finally {
      await readOnly.close();
    }
  });
});
