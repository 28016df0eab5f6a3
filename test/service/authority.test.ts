import { Contract, Wallet } from "ethers";
import type { Deployment } from "../../service/chain/deployment";
import { ROLES } from "../../service/domain/roles";
import { deployErc1271Wallet } from "../contracts/fixture";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { labObservation } from "../support/synthea";

const CONDITIONS = 1 << 2;
const LABORATORY = 1 << 3;

/**
 * A token carries identity only: the roles a caller acts in are read from chain state (as indexed) for
 * every request, so a role revoked on chain stops every privileged path within one indexer poll, and a
 * role granted takes effect as fast.
 */
describe("authority follows the chain", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  let registry: Contract;
  const alice = walletOf("patient", 0);
  const hospitalWallet = walletOf("institution", 0);
  const labWallet = walletOf("institution", 1);
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let observationId: string;

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { INDEXER_POLL_MS: "200" } });
    client = consentClient(service, chain.provider, deployment);
    registry = client.registry.connect(chain.signers[0]) as Contract;
    hospital = await client.signIn(hospitalWallet);
    lab = await client.signIn(labWallet);
    expect((await client.enrol(alice, hospital)).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const obs = await service.request({ method: "POST", url: "/fhir/Observation", headers: hospital, payload: labObservation(`did:pkh:eip155:31337:${alice.address}`) });
    expect(obs.status).toBe(201);
    observationId = obs.body.id;
    const signed = await client.signGrant(alice, client.terms(alice, { grantee: labWallet.address, categories: LABORATORY | CONDITIONS }));
    expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } })).status).toBe(201);
  });

  afterAll(() => service?.close());

  const request = (method: string, url: string, headers: Record<string, string>, payload?: unknown) => service.request({ method, url, headers, payload });
  const labRead = () => request("GET", `/fhir/Observation/${observationId}?purpose=TREAT`, lab);

  /** Every route the institution role opens, with what an institution gets while it holds the role. */
  const privileged = () => [
    { name: "consented read", run: labRead, ok: 200 },
    { name: "search", run: () => request("GET", `/fhir/Observation?patient=${alice.address}&purpose=TREAT`, lab), ok: 200 },
    { name: "break-glass", run: () => request("GET", `/fhir/Observation/${observationId}?purpose=ETREAT&justification=collapse`, lab), ok: 200 },
    { name: "consent decision", run: () => request("POST", "/consent-decisions", lab, { patient: alice.address, categories: LABORATORY, purpose: "TREAT" }), ok: 200 },
    {
      name: "CDS consult",
      run: () => request("POST", "/cds-services/patient-consent-consult", lab, { hook: "patient-consent-consult", hookInstance: "h1", context: { patientId: [{ value: alice.address }], actor: [{ value: labWallet.address }] } }),
      ok: 200,
    },
    { name: "write", run: () => request("POST", "/fhir/Observation", lab, labObservation(`did:pkh:eip155:31337:${alice.address}`)), ok: 422 },
  ];

  it("stops a revoked institution on every route within one indexer poll, and lets it back as fast", async () => {
    for (const route of privileged()) expect([route.name, (await route.run()).status]).toEqual([route.name, route.ok]);

    const receipt = await (await registry.revokeRole(ROLES.institution, labWallet.address)).wait();
    const minedAt = Date.now();
    let refusedAt: number | undefined;
    while (refusedAt === undefined && Date.now() - minedAt < 5_000) {
      if ((await labRead()).status !== 200) refusedAt = Date.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(receipt!.status).toBe(1);
    expect(refusedAt).toBeDefined();
    console.log(`institution role revoked on chain → first refusal: ${refusedAt! - minedAt} ms (indexer poll 200 ms)`);
    expect(refusedAt! - minedAt).toBeLessThan(2_000);

    for (const route of privileged()) {
      const res = await route.run();
      expect([route.name, res.status < 400]).toEqual([route.name, false]);
      expect(res.body.resourceType === "Observation" || res.body.decision !== undefined || res.body.cards !== undefined).toBe(false);
    }
    // The token itself is still valid: the account is simply no longer an institution.
    expect((await request("GET", "/audit/events?limit=1", lab)).status).toBe(200);

    await (await registry.grantRole(ROLES.institution, labWallet.address)).wait();
    const grantedAt = Date.now();
    let allowedAt: number | undefined;
    while (allowedAt === undefined && Date.now() - grantedAt < 5_000) {
      if ((await labRead()).status === 200) allowedAt = Date.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(allowedAt).toBeDefined();
    console.log(`institution role granted on chain → first release: ${allowedAt! - grantedAt} ms`);
  });

  it("stops a revoked custodian reading even the records it published", async () => {
    const own = () => request("GET", `/fhir/Observation/${observationId}`, hospital);
    expect((await own()).status).toBe(200);
    await (await registry.revokeRole(ROLES.institution, hospitalWallet.address)).wait();
    const deadline = Date.now() + 5_000;
    while ((await own()).status === 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await own()).status).toBe(404);
    expect((await request("POST", "/patients/enrol", hospital, {})).status).toBe(403);
    await (await registry.grantRole(ROLES.institution, hospitalWallet.address)).wait();
  });

  it("signs in a smart-contract wallet (ERC-1271)", async () => {
    const owner = Wallet.createRandom();
    const wallet = await deployErc1271Wallet(chain.signers[0], owner.address);
    const address = await wallet.getAddress();
    const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address } });
    expect(challenge.status).toBe(200);
    const token = await service.request({ method: "POST", url: "/auth/token", payload: { message: challenge.body.message, signature: await owner.signMessage(challenge.body.message) } });
    expect([token.status, token.body.address]).toEqual([200, address]);
    const trail = await service.request({ method: "GET", url: "/audit/events", headers: { authorization: `Bearer ${token.body.accessToken}` } });
    expect(trail.status).toBe(200);

    const other = await service.request({ method: "POST", url: "/auth/challenge", payload: { address } });
    const forged = await service.request({
      method: "POST",
      url: "/auth/token",
      payload: { message: other.body.message, signature: await Wallet.createRandom().signMessage(other.body.message) },
    });
    expect([forged.status, forged.body.type]).toEqual([401, "urn:consentry:problem:invalid-signature"]);
  });
});
