import { Redis } from "ioredis";
import type { Deployment } from "../../service/chain/deployment";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

/** A Redis database of the test's own (CI starts Redis; see .ci/run). */
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/7";
const LIMIT = 100;

/**
 * Calls per minute per interface and caller: an account when signed in, the client address otherwise.
 * The 101st call within a minute is a 429 problem with Retry-After and RateLimit-* headers; with Redis,
 * instances share the count; a flood of anonymous sign-in challenges is cut off without touching an
 * institution's reads.
 */
describe("rate limits", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  const started: TestService[] = [];

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    const redis = new Redis(REDIS_URL);
    await redis.flushdb();
    await redis.quit();
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  async function start(env: Record<string, string>): Promise<TestService> {
    const service = await startTestService({ deployment, provider: chain.provider, env: { RATE_LIMIT_PER_MINUTE: String(LIMIT), ...env } });
    started.push(service);
    return service;
  }

  it("refuses the 101st call in a minute with 429, Retry-After and RateLimit headers; other interfaces keep their own count", async () => {
    const service = await start({});
    const lab = await consentClient(service, chain.provider, deployment).signIn(walletOf("institution", 1));
    const trail = () => service.request({ method: "GET", url: "/audit/events?limit=1", headers: lab });
    for (let i = 1; i <= LIMIT; i++) {
      const res = await trail();
      expect([i, res.status]).toEqual([i, 200]);
      if (i === 1) expect(res.headers["ratelimit-limit"]).toBe(String(LIMIT));
    }
    const refused = await trail();
    expect(refused.status).toBe(429);
    expect(refused.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(refused.body.type).toBe("urn:consentry:problem:rate-limited");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(refused.headers["ratelimit-remaining"]).toBe("0");
    expect(Number(refused.headers["ratelimit-reset"])).toBeGreaterThan(0);
    // Another interface, and another account on the same one, are counted apart.
    expect((await service.request({ method: "GET", url: "/consents", headers: lab })).status).toBe(200);
    const regulator = await consentClient(service, chain.provider, deployment).signIn(walletOf("regulator", 0));
    expect((await service.request({ method: "GET", url: "/audit/events?limit=1", headers: regulator })).status).toBe(200);
    // A health probe is never limited.
    expect((await service.request({ method: "GET", url: "/health" })).status).toBe(200);
  });

  it("shares the count between two instances through Redis", async () => {
    const [a, b] = [await start({ REDIS_URL }), await start({ REDIS_URL, ANCHORER_PRIVATE_KEY: "" })];
    const hospitalA = await consentClient(a, chain.provider, deployment).signIn(walletOf("institution", 0));
    const hospitalB = await consentClient(b, chain.provider, deployment).signIn(walletOf("institution", 0));
    for (let i = 0; i < 60; i++) expect((await a.request({ method: "GET", url: "/consents", headers: hospitalA })).status).toBe(200);
    for (let i = 0; i < LIMIT - 60; i++) expect((await b.request({ method: "GET", url: "/consents", headers: hospitalB })).status).toBe(200);
    const refused = await b.request({ method: "GET", url: "/consents", headers: hospitalB });
    expect([refused.status, refused.body.type]).toEqual([429, "urn:consentry:problem:rate-limited"]);
    expect((await a.request({ method: "GET", url: "/consents", headers: hospitalA })).status).toBe(429);
  });

  it("cuts off an anonymous flood of sign-in challenges while an institution's reads keep succeeding", async () => {
    const service = await start({});
    const hospital = await consentClient(service, chain.provider, deployment).signIn(walletOf("institution", 0));
    const flood = Array.from({ length: 150 }, (_, i) =>
      service.request({ method: "POST", url: "/auth/challenge", payload: { address: `0x${(i + 1).toString(16).padStart(40, "0")}` } }),
    );
    const reads = Array.from({ length: 20 }, () => service.request({ method: "GET", url: "/consents", headers: hospital }));
    const [floodResults, readResults] = await Promise.all([Promise.all(flood), Promise.all(reads)]);
    const statuses = floodResults.map((r) => r.status);
    // One sign-in above was anonymous on the same interface and address.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(150 - LIMIT);
    expect(readResults.map((r) => r.status)).toEqual(readResults.map(() => 200));
  });
});
