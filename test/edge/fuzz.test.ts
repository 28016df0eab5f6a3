import fc from "fast-check";
import type { Deployment } from "../../service/chain/deployment";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, testServiceEnv, type TestService } from "../support/service";
import { describeRequest, EdgeHarness, outcomeSlug, PROBLEM_PREFIX, type Violation } from "./support/harness";
import { catalogue, concreteParam, templateMatches } from "./support/catalogue";
import { encodeLoose, requestFor, type FuzzRequest, type Pools } from "./support/inputs";
import { methodsByPath, operationsOf, type Operation } from "./support/openapi";
import { seedWorld, type World } from "./support/world";

/**
 * Every operation of /docs/openapi.json, anonymous and as each role, with random and malformed paths,
 * queries, bodies and headers. Whatever arrives, the service answers below 500, with problem+json for
 * every error, names no patient and quotes no record in an error, and records each authenticated
 * attempt on an audited route in the access trail exactly once (support/harness.ts says what that means
 * for searches, unroutable URLs and 401s).
 *
 * Deterministic: a fixed fast-check seed. FUZZ_RUNS and FUZZ_SEED override the size and the seed.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3_000);
/** The body limit the fuzzed service runs with: "huge" bodies (70 kB) are past it. */
const BODY_LIMIT = 65_536;

describe("fuzz: every route of the OpenAPI document", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let world: World;
  let pools: Pools;
  let operations: Operation[];
  let harness: EdgeHarness;
  const started = Date.now();
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { BODY_LIMIT_BYTES: String(BODY_LIMIT), BATCH_MAX_MS: "500" } });
    world = await seedWorld(service, chain.provider, deployment);
    const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: world.alice.address } });
    pools = {
      world,
      jwtSecret: testServiceEnv().JWT_SECRET,
      audience: `${deployment.chainId}:${deployment.contracts.ConsentRegistry.address.toLowerCase()}`,
      challengeMessage: challenge.body.message,
      signedGrant: world.grant,
    };
    const doc = await service.request({ method: "GET", url: "/docs/openapi.json" });
    expect(doc.status).toBe(200);
    operations = operationsOf(doc.body);
    harness = new EdgeHarness(service, world);
    await harness.start();
    timings.setupMs = Date.now() - started;
  });

  afterAll(async () => {
    await service?.close();
    if (!harness) return;
    const t = harness.totals;
    console.log(
      [
        `edge fuzz (seed ${SEED}, ${RUNS} random runs): ${t.requests} requests over ${operations.length} operations`,
        `statuses ${JSON.stringify(t.byStatus)}`,
        `5xx = ${t.fiveHundreds}; audited authenticated attempts ${t.auditedAttempts}, access events recorded ${t.eventsRecorded}; not sendable ${t.notSent}`,
        `timings ${JSON.stringify(timings)} total ${Date.now() - started} ms`,
      ].join("\n"),
    );
  });

  /** Fails with every kind of violation: each distinct operation and status once, and the first example in full. */
  const assertClean = (violations: Violation[]) => {
    if (violations.length === 0) return;
    const kinds = [...new Set(violations.map((v) => v.kind))];
    const sections = kinds.map((kind) => {
      const of = violations.filter((v) => v.kind === kind);
      const first = of[0];
      return [
        `${kind}: ${of.reduce((n, v) => n + v.count, 0)} requests`,
        ...of.map((v) => `    [${v.count}×] ${v.key}`),
        `  e.g. ${first.detail}`,
        `    request: ${first.request}`,
        `    response: ${first.response}`,
      ].join("\n");
    });
    throw new Error(`${kinds.length} kinds of edge failure:\n${sections.join("\n")}`);
  };

  it("publishes a document that names every route the fuzz drives", () => {
    const names = operations.map((o) => `${o.method} ${o.path}`);
    for (const route of ["POST /auth/challenge", "GET /fhir/{type}/{id}", "PUT /fhir/{type}/{id}", "POST /consents", "POST /patients/{address}/erase", "GET /audit/events", "POST /cds-services/patient-consent-consult"]) {
      expect(names).toContain(route);
    }
  });

  it("knows the seeded chart: a released read quotes what the leak check looks for", async () => {
    const patient = world.records.find((r) => r.resourceType === "Patient")!;
    const read = await service.request({ method: "GET", url: `/fhir/Patient/${patient.id}`, headers: world.auth.patient });
    expect(read.status).toBe(200);
    expect(world.sensitive.filter((s) => read.text.includes(s)).length).toBeGreaterThanOrEqual(10);
    await harness.start();
  });

  it("answers a catalogue of hostile inputs on every operation, as every caller, without a 5xx, a leak or a missing event", async () => {
    const t0 = Date.now();
    for (const op of operations) {
      for (const request of catalogue(pools, op, BODY_LIMIT)) await harness.exercise(request);
    }
    timings.catalogueMs = Date.now() - t0;
    assertClean(harness.takeViolations());
  });

  it("answers random and malformed requests the same way (fast-check, fixed seed)", async () => {
    const t0 = Date.now();
    const byPath = methodsByPath(operations);
    const arbitrary = fc.constantFrom(...operations).chain((op) => requestFor(pools, op, byPath.get(op.path) ?? []));
    await fc.assert(
      fc.asyncProperty(arbitrary, async (request) => {
        await harness.exercise(request);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    timings.randomMs = Date.now() - t0;
    assertClean(harness.takeViolations());
  });

  it("answers a method a known path does not serve with 405 and an Allow header naming the ones it does", async () => {
    const byPath = methodsByPath(operations);
    const wrong: string[] = [];
    for (const [template] of byPath) {
      const url = template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeLoose(concreteParam(pools, template, name)));
      // /fhir/Consent is served under GET by its own route and under POST by /fhir/{type}.
      const methods = [...byPath].filter(([other]) => templateMatches(other, url)).flatMap(([, m]) => m);
      for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"].filter((m) => !methods.includes(m))) {
        const request: FuzzRequest = { caller: "custodian", auth: "valid", op: `${methods[0]} ${template}`, secured: true, method, url, headers: { ...world.auth.custodian }, notes: ["unknown-method"] };
        const res = await harness.exercise(request);
        const allow = String(res?.headers.allow ?? "").split(/,\s*/);
        const slug = typeof res?.body?.type === "string" ? res.body.type.replace(PROBLEM_PREFIX, "") : outcomeSlug(res?.body);
        if (res?.status !== 405 || slug !== "method-not-allowed" || !methods.every((m) => allow.includes(m))) {
          wrong.push(`${describeRequest(request)} → ${res?.status} Allow: ${res?.headers.allow} ${res?.text.slice(0, 120)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    assertClean(harness.takeViolations());
  });
});
