import fc from "fast-check";
import { hexlify, randomBytes, Wallet } from "ethers";
import { demoAccounts } from "../../scripts/lib/demo-accounts";
import type { Deployment } from "../../service/chain/deployment";
import { createRpcProvider } from "../../service/chain/rpc-provider";
import { walletOf } from "../support/actors";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { testDatabase, type TestDatabase } from "../support/database";
import { runTs, type RunningProcess } from "../support/process";
import { testServiceEnv, writeTempDeployment, type TestService } from "../support/service";
import { startServiceProcess } from "../support/service-process";
import { labObservation, recordsOf } from "../support/synthea";
import { waitUntil } from "../support/trail-assertions";
import { SETTLE_TIMEOUT_MS } from "../support/ready";
import { catalogue } from "./support/catalogue";
import { httpRequester, rawHttp } from "./support/http";
import { authorizationFor, requestFor, wrongChecksum, type Pools } from "./support/inputs";
import { methodsByPath, operationsOf } from "./support/openapi";
import { accountDid, ALICE_MRN, CAROL_MRN, SYNTHEA_PATIENT, seedWorld, type Requester, type World } from "./support/world";

/** Break-glass justifications: free text a clinician types, so personal by nature. */
const JUSTIFICATION = "Found unresponsive by her daughter, allergy history needed (ER bay 7)";
const REFUSED_JUSTIFICATION = "Daughter says she took naproxen\u0000 before collapsing";
const STRAY_JUSTIFICATION = "Patient disoriented at triage desk four";
const BODY_LIMIT = 65_536;

/**
 * The service as its own process at LOG_LEVEL=verbose, everything it writes to stdout and stderr
 * captured (Nest, Fastify, TypeORM, the driver, Node itself), driven through normal use and every fault
 * the edge tests know. Afterwards no patient's name, identifier, account, record content or
 * justification, no bearer token and no private key may appear anywhere in that output.
 */
describe("no personal data in logs", () => {
  let node: RunningProcess;
  let proc: RunningProcess;
  let baseUrl: string;
  let deployment: Deployment;
  let database: TestDatabase;
  let world: World;
  let log = "";
  const timings: Record<string, number> = {};
  const started = Date.now();
  const counts = { requests: 0, byStatus: {} as Record<string, number> };
  const unexpected: string[] = [];
  const slow: string[] = [];

  beforeAll(async () => {
    node = runTs("test/support/chain-node.ts");
    const [, chainUrl] = await node.waitFor(/CHAIN (\S+)/);
    const provider = createRpcProvider(chainUrl, 31337);
    deployment = await deployWithDemoRoles(new Wallet(walletOf("admin").privateKey, provider));
    database = await testDatabase();
    ({ proc, url: baseUrl } = await startServiceProcess({
      CHAIN_RPC_URL: chainUrl,
      DEPLOYMENT: writeTempDeployment(deployment),
      LOG_LEVEL: "verbose",
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      BATCH_MAX_MS: "200",
      AUDIT_RETENTION_DAYS: "0",
      ...database.settings,
    }));
    timings.bootMs = Date.now() - started;

    const http = httpRequester(baseUrl);
    // Counts what was sent, for the closing note; notes requests slower than 150 ms (a stalled socket).
    const service: Requester = {
      request: async (options) => {
        const t0 = Date.now();
        const res = await http.request(options);
        if (Date.now() - t0 > 150) slow.push(`${Date.now() - t0}ms ${options.method} ${options.url.slice(0, 100)} ${JSON.stringify({ ...options.headers, authorization: undefined }).slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`);
        counts.requests++;
        counts.byStatus[res.status] = (counts.byStatus[res.status] ?? 0) + 1;
        return res;
      },
    };
    world = await seedWorld(service, provider, deployment);
    timings.seedMs = Date.now() - started - timings.bootMs;
    await normalUse(service, provider);
    await faults(service);
    await hostileCatalogue(service);
    timings.exerciseMs = Date.now() - started - timings.bootMs - timings.seedMs;
    provider.destroy();

    // Everything, including what the service says while it shuts down.
    proc.child.kill("SIGTERM");
    await proc.exited;
    log = proc.stdout() + "\n" + proc.stderr();
    // LOG_SCAN_DUMP=<file> keeps the captured output (and the slow requests) for a look by eye.
    if (process.env.LOG_SCAN_DUMP) require("node:fs").writeFileSync(process.env.LOG_SCAN_DUMP, log + "\n\nSLOW\n" + slow.join("\n"));
  }, 300_000);

  afterAll(async () => {
    if (proc && proc.child.exitCode === null) proc.child.kill("SIGKILL");
    node?.child.kill("SIGKILL");
    await database?.drop();
    console.log(
      `log scan: ${counts.requests} requests ${JSON.stringify(counts.byStatus)}; ${log.split("\n").length} log lines (${log.length} bytes) scanned; timings ${JSON.stringify(timings)} total ${Date.now() - started} ms`,
    );
  });

  /** Normal flows: reads under consent, searches, versions, decisions, the views, the trail, a revocation, an erasure. */
  async function normalUse(service: Requester, provider: ReturnType<typeof createRpcProvider>) {
    const { auth, alice } = world;
    const condition = world.records.find((r) => r.resourceType === "Condition")!;
    const get = (url: string, headers: Record<string, string>) => service.request({ method: "GET", url, headers });
    expect((await get(`/fhir/Condition/${condition.id}?purpose=TREAT`, auth.institution)).status).toBe(200);
    expect((await get(`/fhir/Condition?patient=${alice.address}&purpose=TREAT`, auth.institution)).status).toBe(200);
    expect((await get(`/fhir/Condition/${condition.id}/_history?purpose=TREAT`, auth.institution)).status).toBe(200);
    expect((await get(`/fhir/Condition/${condition.id}/_history/1?purpose=TREAT`, auth.institution)).status).toBe(200);
    expect((await get(`/fhir/Observation?patient=${accountDid(world.chainId, alice.address)}`, auth.patient)).status).toBe(200);
    expect((await get(`/fhir/Patient/${SYNTHEA_PATIENT}?purpose=TREAT`, auth.custodian)).status).toBe(200);
    const decision = await service.request({ method: "POST", url: "/consent-decisions", headers: auth.institution, payload: { patient: alice.address, categories: 4, purpose: "TREAT" } });
    expect(decision.body.decision).toBe("permit");
    expect((await get(`/consents?patient=${alice.address}`, auth.patient)).status).toBe(200);
    expect((await get(`/consents/${world.consentId}`, auth.institution)).status).toBe(200);
    expect((await get(`/fhir/Consent?patient=${alice.address}`, auth.patient)).status).toBe(200);
    expect((await get(`/fhir/AuditEvent?patient=${alice.address}`, auth.patient)).status).toBe(200);
    const events = await get(`/audit/events?patient=${alice.address}&limit=1000`, auth.regulator);
    expect(events.status).toBe(200);
    const first = events.body.events[0] as { id: string };
    expect(await waitUntil(async () => (await get(`/audit/events/${first.id}/proof`, auth.regulator)).status === 200, SETTLE_TIMEOUT_MS)).toBe(true);
    expect((await get(`/audit/batches/1`, auth.regulator)).status).toBe(200);
    expect((await get(`/audit/export?from=2000-01-01&to=2100-01-01`, auth.regulator)).status).toBe(200);
    const raw = await service.request({ method: "GET", url: "/health", headers: {} });
    expect(raw.status).toBe(200);

    // A break-glass read with a justification.
    const immunization = world.records.find((r) => r.resourceType === "Immunization")!;
    expect((await get(`/fhir/Immunization/${immunization.id}?purpose=ETREAT&justification=${encodeURIComponent(JUSTIFICATION)}`, auth.institution)).status).toBe(200);

    // Alice revokes a second consent; Carol is erased.
    const client = consentClient(service as TestService, provider, deployment);
    const signed = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: 1 << 6 }));
    const granted = await service.request({ method: "POST", url: "/consents", headers: auth.patient, payload: { ...signed, wait: true } });
    expect(granted.status).toBe(201);
    const revoke = await client.signRevoke(alice, granted.body.consentId);
    expect((await service.request({ method: "POST", url: `/consents/${granted.body.consentId}/revoke`, headers: auth.patient, payload: { ...revoke, wait: true } })).status).toBe(200);
    expect((await service.request({ method: "POST", url: `/patients/${world.carol.address}/erase`, headers: auth.admin })).status).toBe(200);
    expect((await service.request({ method: "POST", url: "/audit/prune", headers: auth.admin, payload: {} })).status).toBe(200);
  }

  /** The fault cases: refusals, bad input, bad sign-ins, unknown ids, oversized and malformed bodies, framework errors. */
  async function faults(service: Requester) {
    const { auth, alice } = world;
    const send = (method: string, url: string, headers: Record<string, string>, payload?: unknown) => service.request({ method, url, headers, payload });
    const observation = world.records.find((r) => r.resourceType === "Observation")!;
    const condition = world.records.find((r) => r.resourceType === "Condition")!;
    const immunization = world.records.find((r) => r.resourceType === "Immunization")!;
    // A fault that was answered otherwise than intended is noted, not thrown: the scan must still run.
    let step = 0;
    const expectStatus = async (res: Promise<{ status: number; text: string }>, status: number) => {
      const r = await res;
      step++;
      if (r.status !== status) unexpected.push(`fault #${step}: expected ${status}, got ${r.status} ${r.text.slice(0, 200)}`);
    };

    // Refusals: no consent, another patient, a patient searching someone else.
    await expectStatus(send("GET", `/fhir/Observation/${observation.id}?purpose=TREAT`, auth.institution), 403);
    await expectStatus(send("GET", `/fhir/Condition?patient=${alice.address}`, await signInBob(service)), 403);
    // Break-glass without a justification, and with one the service must refuse (a NUL in it).
    await expectStatus(send("GET", `/fhir/Immunization/${immunization.id}?purpose=ETREAT`, auth.institution), 400);
    await expectStatus(send("GET", `/fhir/Immunization/${immunization.id}?purpose=ETREAT&justification=${encodeURIComponent(REFUSED_JUSTIFICATION)}`, auth.institution), 400);
    // A CDS consult naming the patient by the hospital's MRN (and by one nobody has, and as another custodian).
    const consult = (value: string, headers: Record<string, string>) =>
      send("POST", "/cds-services/patient-consent-consult", headers, {
        hook: "patient-consent-consult",
        hookInstance: "7d1c0e1e-2b6a-4c3f-9f55-0d6c1f3b8e21",
        context: { patientId: [{ system: "urn:oid:2.16.840.1.113883.19.5", value }], actor: [{ system: "urn:ietf:rfc:3986", value: accountDid(world.chainId, walletOf("institution", 1).address) }], purposeOfUse: "TREAT" },
      });
    await expectStatus(consult(ALICE_MRN, auth.custodian), 200);
    await expectStatus(consult(`${ALICE_MRN}-X`, auth.custodian), 200); // NO_CONSENT, as HL7 LEAP answers an unknown patient
    await expectStatus(consult(ALICE_MRN, auth.institution), 200);
    // Sign-ins with a bad signature, a reworded message, a replayed one.
    const challenge = await send("POST", "/auth/challenge", {}, { address: alice.address });
    await expectStatus(send("POST", "/auth/token", {}, { message: challenge.body.message, signature: hexlify(randomBytes(65)) }), 401);
    await expectStatus(send("POST", "/auth/token", {}, { message: challenge.body.message.replace("Sign in to Consentry", "Sign in to Evil"), signature: await alice.signMessage(challenge.body.message) }), 401);
    const fresh = await send("POST", "/auth/challenge", {}, { address: alice.address });
    const signature = await alice.signMessage(fresh.body.message);
    await expectStatus(send("POST", "/auth/token", {}, { message: fresh.body.message, signature }), 200);
    await expectStatus(send("POST", "/auth/token", {}, { message: fresh.body.message, signature }), 401);
    await expectStatus(send("POST", "/auth/challenge", {}, { address: wrongChecksum(alice.address) }), 200);
    // Forged and expired tokens naming Alice.
    for (const mode of ["alg-none", "expired", "no-exp", "aud-array", "wrong-secret"] as const) {
      await expectStatus(send("GET", `/consents?patient=${alice.address}`, { authorization: authorizationFor(pools(), "patient", mode)! }), 401);
    }
    // Unknown ids.
    await expectStatus(send("GET", `/fhir/Condition/no-such-record?purpose=TREAT`, auth.institution), 403);
    await expectStatus(send("GET", `/fhir/Condition/no-such-record`, auth.patient), 404);
    await expectStatus(send("GET", `/consents/0x${"f".repeat(64)}`, auth.patient), 404);
    await expectStatus(send("GET", `/audit/events/6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e/proof`, auth.patient), 404);
    // Oversized, malformed and unstorable bodies that quote the patient.
    const huge = { ...labObservation(`Patient/${SYNTHEA_PATIENT}`), note: [{ text: "Elisa944 Johnson679 born 1927-05-21 ".repeat(2_500) }] };
    await expectStatus(send("POST", "/fhir/Observation", auth.custodian, huge), 413);
    await expectStatus(send("POST", "/fhir/Patient", { ...auth.custodian, "content-type": "application/fhir+json" }, '{"resourceType":"Patient","name":[{"family":"Johnson679","given":["Elisa944"]}],"birthDate":"1927-05-21"'), 400);
    await expectStatus(send("POST", "/patients/enrol", auth.custodian, { patient: alice.address, identifiers: [{ system: "urn:oid:2.16.840.1.113883.19.5", value: `${ALICE_MRN}\u0000` }], deadline: 1, signature: "0x1234" }), 400);
    await expectStatus(send("POST", "/patients/enrol", auth.custodian, { patient: alice.address, identifiers: [{ system: "urn:oid:2.16.840.1.113883.19.5", value: ALICE_MRN }], deadline: Math.floor(Date.now() / 1000) + 600, signature: hexlify(randomBytes(65)) }), 400);
    await expectStatus(send("POST", "/fhir/Observation", auth.custodian, { ...labObservation(`Patient/${SYNTHEA_PATIENT}`), note: [{ text: "Johnson679 \ud800" }] }), 400);
    await expectStatus(send("POST", "/fhir/Observation", auth.custodian, labObservation(`Patient/${ALICE_MRN}`)), 422);
    await expectStatus(send("PUT", `/fhir/Condition/${condition.id}`, auth.institution, { ...condition, meta: undefined }), 403);
    await expectStatus(send("POST", "/fhir/Patient", auth.custodian, { resourceType: "Patient", name: [{ family: "Johnson679" }], birthDate: "1927-05-21" }), 400);
    await expectStatus(send("POST", "/consent-decisions", auth.institution, { patient: wrongChecksum(alice.address), categories: 1e300, purpose: "TREAT" }), 400);
    await expectStatus(send("GET", `/fhir/Condition?patient=${wrongChecksum(alice.address)}&purpose=TREAT`, auth.institution), 200);
    await expectStatus(send("GET", `/audit/events?patient=${accountDid(world.chainId, alice.address)}&after=1e20`, auth.regulator), 400);
    // Routes that do not exist, carrying an MRN and a justification; a method the path does not serve.
    await expectStatus(send("GET", `/nowhere/${ALICE_MRN}?justification=${encodeURIComponent(STRAY_JUSTIFICATION)}`, auth.institution), 404);
    await expectStatus(send("DELETE", `/fhir/Condition/${condition.id}?justification=${encodeURIComponent(STRAY_JUSTIFICATION)}`, auth.institution), 405);
    await expectStatus(send("GET", `/fhir/Condition/${"x".repeat(120)}${ALICE_MRN}`, auth.institution), 414);
    await expectStatus(send("GET", `/fhir/Condition/%ED%A0%80${ALICE_MRN}`, auth.institution), 400);
    // Framework errors below Fastify: headers too large, a request line Node cannot parse, a body shorter than announced.
    const host = new URL(baseUrl).host;
    const statusLine = async (raw: string) => ({ status: Number((await rawHttp(baseUrl, raw)).slice(9, 12)), text: "(raw)" });
    await expectStatus(statusLine(`GET /fhir/Patient/${SYNTHEA_PATIENT} HTTP/1.1\r\nHost: ${host}\r\nX-Patient: Elisa944 Johnson679 ${"p".repeat(20_000)}\r\n\r\n`), 431);
    await expectStatus(statusLine(`GET /${ALICE_MRN} Elisa944 HTTP/1.1 Johnson679\r\n\r\n`), 400);
    const body = JSON.stringify({ patient: alice.address, categories: 4, purpose: "TREAT", note: "Johnson679" });
    await rawHttp(baseUrl, `POST /consent-decisions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth.institution.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`, 1_500);
  }

  /** The fuzz's hostile catalogue for every operation, then a sample of its random requests. */
  async function hostileCatalogue(service: Requester) {
    const doc = await service.request({ method: "GET", url: "/docs/openapi.json" });
    const operations = operationsOf(doc.body);
    for (const op of operations) {
      for (const request of catalogue(pools(), op, BODY_LIMIT)) {
        await service.request({ method: request.method, url: request.url, headers: request.headers, payload: request.payload });
      }
    }
    const byPath = methodsByPath(operations);
    const sample = fc.sample(
      fc.constantFrom(...operations).chain((op) => requestFor(pools(), op, byPath.get(op.path) ?? [])),
      { seed: 7, numRuns: 300 },
    );
    for (const request of sample) await service.request({ method: request.method, url: request.url, headers: request.headers, payload: request.payload });
  }

  let cachedPools: Pools | undefined;
  function pools(): Pools {
    cachedPools ??= {
      world,
      jwtSecret: testServiceEnv().JWT_SECRET,
      audience: `${deployment.chainId}:${deployment.contracts.ConsentRegistry.address.toLowerCase()}`,
      challengeMessage: `localhost wants you to sign in with your Ethereum account:\n${world.alice.address}\n`,
      signedGrant: world.grant,
    };
    return cachedPools;
  }

  async function signInBob(service: Requester): Promise<Record<string, string>> {
    const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: world.bob.address } });
    const token = await service.request({ method: "POST", url: "/auth/token", payload: { message: challenge.body.message, signature: await world.bob.signMessage(challenge.body.message) } });
    world.tokens.push(token.body.accessToken);
    return { authorization: `Bearer ${token.body.accessToken}` };
  }

  /** Every occurrence of `needles` in the log, case-insensitively; numeric needles only as whole numbers. */
  function findIn(needles: string[]): string[] {
    // What the service generates or measures is no one's data, and random digits in it could pass for a record
    // number: generated request ids (UUIDs), durations and process ids are masked before the scan. A request id
    // a caller sent is scanned like everything else.
    const lines = log
      .replace(/"requestId":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"/g, '"requestId":"(generated)"')
      .replace(/"durationMs":[0-9.]+/g, '"durationMs":0')
      .replace(/"pid":\d+/g, '"pid":0')
      .split("\n");
    const found: string[] = [];
    for (const needle of new Set(needles.filter((n) => n.length >= 4))) {
      const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const pattern = new RegExp(/^[\d-]+$/.test(needle) ? `(?<![0-9])${escaped}(?![0-9])` : escaped, "i");
      const line = lines.find((l) => pattern.test(l));
      if (line) found.push(`${JSON.stringify(needle)} in: ${line.length > 300 ? line.slice(0, 300) + "…" : line}`);
    }
    return found;
  }

  it("drove every fault case to the answer it was written for", () => {
    expect(unexpected).toEqual([]);
  });

  it("captured the whole of the service's output, at every level", () => {
    expect(log).toMatch(/"message":"Listening"/);
    // Nest's start-up lines, the chain and anchoring services, the access log's refusals: all in the capture.
    expect(log).toMatch(/RoutesResolver|RouterExplorer/);
    expect(log).toMatch(/Chain verified/);
    expect(log).toMatch(/Batch anchored/);
    expect(log.split("\n").length).toBeGreaterThan(50);
  });

  it("writes one access line per request: its id, method, route template, status and duration, nothing of the URL", () => {
    const access = log
      .split("\n")
      .filter((l) => l.includes('"context":"HTTP","message":"Request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Every request sent through the client, less those never sent (status 0) or refused by Node's own parser
    // before Fastify (431): a few percent of slack for the others the parser refuses.
    const reachedFastify = counts.requests - (counts.byStatus[0] ?? 0) - (counts.byStatus[431] ?? 0);
    expect(access.length).toBeGreaterThanOrEqual(Math.floor(reachedFastify * 0.95));
    expect(access.length).toBeLessThanOrEqual(counts.requests + 10);
    for (const line of access) {
      expect(Object.keys(line).sort()).toEqual(["context", "durationMs", "level", "message", "method", "pid", "requestId", "route", "status", "time"]);
      expect(line.route).toMatch(/^(unmatched|unrouted|\*|\/[A-Za-z0-9_.\-/:*$]*)$/);
      expect(line.requestId).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
    }
    expect(new Set(access.map((l) => l.requestId)).size).toBe(access.length);
    const routes = new Set(access.map((l) => l.route));
    for (const route of ["/fhir/:type/:id", "/consent-decisions", "/audit/events/:id/proof", "unmatched", "unrouted"]) expect(routes.has(route)).toBe(true);
  });

  it("writes every line as a JSON object with an ISO time and a string message", () => {
    const lines = log.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter((l) => !l.startsWith("{"))).toEqual([]);
    for (const text of lines) {
      const line = JSON.parse(text) as Record<string, unknown>;
      expect(typeof line.message).toBe("string");
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
    }
  });

  it("names no test patient", () => {
    const patient = recordsOf(SYNTHEA_PATIENT).patient;
    const names = (patient.name as Array<{ family: string; given: string[] }>).flatMap((n) => [n.family, ...n.given]);
    expect(findIn(names)).toEqual([]);
  });

  it("holds no patient identifier: MRNs, SSN, licence, passport, phone, address, birth date", () => {
    const patient = recordsOf(SYNTHEA_PATIENT).patient;
    const identifiers = [
      ALICE_MRN,
      CAROL_MRN,
      SYNTHEA_PATIENT,
      ...(patient.identifier as Array<{ value: string }>).map((i) => i.value),
      ...(patient.telecom as Array<{ value: string }>).map((t) => t.value),
      ...(patient.address as Array<{ line: string[]; postalCode: string }>).flatMap((a) => [...a.line, a.postalCode]),
      patient.birthDate as string,
    ];
    expect(findIn(identifiers)).toEqual([]);
  });

  it("holds no patient's account, as an address in any case or as a did:pkh", () => {
    const accounts = [world.alice, world.bob, world.carol].map((w) => w.address.slice(2));
    expect(findIn(accounts)).toEqual([]);
  });

  it("quotes no record content: codes, displays, record ids", () => {
    expect(findIn(world.sensitive)).toEqual([]);
  });

  it("quotes no break-glass justification", () => {
    expect(findIn([JUSTIFICATION, REFUSED_JUSTIFICATION.split("\u0000")[0], STRAY_JUSTIFICATION, "unresponsive", "naproxen", "triage desk"])).toEqual([]);
  });

  it("holds no bearer token, private key or secret", () => {
    const env = testServiceEnv();
    const secrets = [
      ...world.tokens,
      ...world.tokens.map((t) => t.split(".")[2]),
      ...demoAccounts().map((a) => a.privateKey.slice(2)),
      world.carol.privateKey.slice(2),
      env.JWT_SECRET,
      env.MASTER_KEY,
    ];
    expect(findIn(secrets)).toEqual([]);
  });
});
