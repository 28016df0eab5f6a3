import type { Deployment } from "../../service/chain/deployment";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { SETTLE_TIMEOUT_MS } from "../support/ready";
import { waitUntil } from "../support/trail-assertions";

const TOKEN = "metrics-token-0123456789-abcdefghijkl";
const RATE_LIMIT = 40;

/** One sample of a Prometheus exposition: `name{labels} value`, by name and labels as written. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

type AccessLine = { level: string; time: string; context: string; message: string; requestId: string; method: string; route: string; status: number; durationMs: number };

/**
 * /metrics (Prometheus) and the request log, in one service: the series move with the traffic that feeds
 * them, labels hold route templates and fixed vocabularies only, and every request leaves one access line
 * with its id.
 */
describe("metrics and request logs", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let hospital: Record<string, string>;
  let regulator: Record<string, string>;
  const raw: string[] = [];
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  const accessLines = () => lines().filter((l) => l.context === "HTTP" && l.message === "Request") as unknown as AccessLine[];
  const alice = walletOf("patient", 0);
  const scrape = async () => {
    const res = await service.request({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  };
  const decide = (headers: Record<string, string> = {}) =>
    service.request({ method: "POST", url: "/consent-decisions", headers: { ...hospital, ...headers }, payload: { patient: alice.address, categories: 4, purpose: "TREAT" } });

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({
      deployment,
      provider: chain.provider,
      env: { METRICS_TOKEN: TOKEN, METRICS_PORT: "0", LOG_LEVEL: "log", BATCH_MAX_MS: "200", TRAIL_CHECK_MS: "200", RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) },
      logDestination: { write: (line: string) => void raw.push(line) },
    });
    const client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(walletOf("institution", 0));
    regulator = await client.signIn(walletOf("regulator", 0));
  });

  afterAll(() => service?.close());

  it("answers /metrics only with the token", async () => {
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789-abcdefghijkl" }, { authorization: TOKEN }];
    for (const headers of refused) {
      const res = await service.request({ method: "GET", url: "/metrics", headers });
      expect(res.status).toBe(401);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
      expect(res.body.type).toBe("urn:consentry:problem:metrics-token-required");
      expect(res.text).not.toMatch(/consentry_/);
    }
    expect((await service.request({ method: "GET", url: "/metrics", headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect((await service.request({ method: "POST", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it("moves the request, access-log, decision, anchoring and transaction series with traffic; reports indexer lag and the trail's status", async () => {
    const N = 12;
    const before = await scrape();
    const route = { method: "POST", route: "/consent-decisions", status: "200" };
    const count = (text: string, name: string, labels: Record<string, string> = {}) => sample(text, name, labels) ?? 0;
    for (let i = 0; i < N; i++) expect((await decide()).status).toBe(200);
    // Anchored and verified: nothing awaits anchoring any more (read from the scrape that shows it, with the
    // projection fresh at that moment).
    let after = "";
    expect(
      await waitUntil(async () => {
        after = await scrape();
        return (
          sample(after, "consentry_access_events_awaiting_anchoring") === 0 &&
          count(after, "consentry_trail_checked_through_seq") >= N &&
          sample(after, "consentry_indexer_fresh") === 1
        );
      }, SETTLE_TIMEOUT_MS),
    ).toBe(true);

    expect(count(after, "consentry_http_request_duration_seconds_count", route) - count(before, "consentry_http_request_duration_seconds_count", route)).toBe(N);
    expect(count(after, "consentry_http_request_duration_seconds_bucket", { ...route, le: "+Inf" })).toBe(count(after, "consentry_http_request_duration_seconds_count", route));
    expect(count(after, "consentry_access_log_commit_duration_seconds_count")).toBeGreaterThan(count(before, "consentry_access_log_commit_duration_seconds_count"));
    expect(count(after, "consentry_access_log_commit_group_size_sum") - count(before, "consentry_access_log_commit_group_size_sum")).toBeGreaterThanOrEqual(N);
    expect(count(after, "consentry_access_decisions_total", { decision: "no-consent" }) - count(before, "consentry_access_decisions_total", { decision: "no-consent" })).toBe(N);
    expect(count(after, "consentry_access_to_anchored_seconds_count") - count(before, "consentry_access_to_anchored_seconds_count")).toBeGreaterThanOrEqual(N);
    expect(count(after, "consentry_anchor_batches_confirmed_total")).toBeGreaterThan(0);
    expect(count(after, "consentry_chain_transactions_total", { kind: "ledger.anchor", state: "confirmed" })).toBeGreaterThan(0);
    expect(count(after, "consentry_chain_transactions", { state: "confirmed" })).toBeGreaterThan(0);
    expect(sample(after, "consentry_chain_transactions", { state: "failed" })).toBe(0);
    expect(count(after, "consentry_access_log_head_seq")).toBeGreaterThanOrEqual(N);
    expect(sample(after, "consentry_anchor_batches_unconfirmed")).toBe(0);

    expect(sample(after, "consentry_trail_ok")).toBe(1);
    expect(count(after, "consentry_trail_sweeps")).toBeGreaterThanOrEqual(1);
    expect(sample(after, "consentry_indexer_fresh")).toBe(1);
    expect(sample(after, "consentry_indexer_lag_blocks")).toBeGreaterThanOrEqual(0);
    expect(sample(after, "consentry_indexer_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(sample(after, "consentry_indexer_lag_seconds")).toBeLessThan(5);
    expect(count(after, "consentry_indexer_block")).toBeGreaterThan(0);
    for (const source of ["trail", "indexer", "anchoring", "transactions"]) expect(sample(after, "consentry_metrics_source_up", { source })).toBe(1);
    // The process's own: CPU, memory, event loop.
    expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  }, SETTLE_TIMEOUT_MS + 60_000);

  it("labels requests by route template and fixed vocabularies only: no ids, accounts or query values", async () => {
    const page = await service.request({ method: "GET", url: `/audit/events?patient=${alice.address}&limit=5`, headers: regulator });
    expect(page.status).toBe(200);
    const id = page.body.events[0].id as string;
    expect((await service.request({ method: "GET", url: `/audit/events/${id}/proof`, headers: regulator })).status).toBeLessThan(500);
    expect((await service.request({ method: "GET", url: `/nowhere/${alice.address}?justification=secret-words`, headers: regulator })).status).toBe(404);
    const text = await scrape();
    expect(sample(text, "consentry_http_request_duration_seconds_count", { method: "GET", route: "/audit/events/:id/proof", status: "200" })).toBeGreaterThan(0);
    expect(sample(text, "consentry_http_request_duration_seconds_count", { method: "GET", route: "unmatched", status: "404" })).toBeGreaterThan(0);
    expect(text).not.toContain(id);
    expect(text.toLowerCase()).not.toContain(alice.address.slice(2).toLowerCase());
    expect(text).not.toMatch(/0x[0-9a-fA-F]{40}|secret-words|nowhere|\?/);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const r of routes) expect(r).toMatch(/^(unmatched|unrouted|\*|\/[A-Za-z0-9_.\-/:*$]*)$/);
  });

  it("counts rate-limit refusals by interface", async () => {
    const before = sample(await scrape(), "consentry_rate_limit_refusals_total", { interface: "institutions" }) ?? 0;
    let refused = 0;
    for (let i = 0; i <= RATE_LIMIT; i++) if ((await service.request({ method: "GET", url: "/institutions" })).status === 429) refused++;
    expect(refused).toBeGreaterThan(0);
    expect(sample(await scrape(), "consentry_rate_limit_refusals_total", { interface: "institutions" })).toBe(before + refused);
  });

  it("serves the same metrics on METRICS_PORT, bound to HOST, with the token, and nothing else there", async () => {
    const listening = lines().find((l) => l.message === "Metrics listening");
    expect(listening).toMatchObject({ context: "Metrics", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/) });
    const url = listening!.url as string;
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(sample(await ok.text(), "consentry_trail_ok")).toBe(1);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url.replace("/metrics", "/health"), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect((await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it("returns a well-formed x-request-id and logs it on the request's access line; replaces an ill-formed one", async () => {
    const given = "req-7f3a9c2e-test-0001";
    const res = await decide({ "x-request-id": given });
    expect(res.headers["x-request-id"]).toBe(given);
    const line = accessLines().find((l) => l.requestId === given);
    expect(line).toEqual({
      level: "log",
      time: expect.any(String),
      pid: process.pid,
      context: "HTTP",
      message: "Request",
      requestId: given,
      method: "POST",
      route: "/consent-decisions",
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(new Date(line!.time).toISOString()).toBe(line!.time);

    const did = `did:pkh:eip155:31337:${alice.address}`;
    for (const bad of ["short", "has spaces in it", `"><script>alert(1)</script>`, "x".repeat(129), `patient ${alice.address}`, alice.address, did]) {
      const answered = await decide({ "x-request-id": bad });
      const id = answered.headers["x-request-id"] as string;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(accessLines().find((l) => l.requestId === id)).toMatchObject({ route: "/consent-decisions", status: 200 });
    }
    expect(raw.join("")).not.toContain("<script>");

    // Without one, a new id each time; errors and refusals carry theirs too.
    const a = await service.request({ method: "GET", url: "/health" });
    const b = await service.request({ method: "GET", url: "/health" });
    expect(a.headers["x-request-id"]).not.toBe(b.headers["x-request-id"]);
    const missing = await service.request({ method: "GET", url: "/fhir/Condition/no-such-record?purpose=TREAT", headers: hospital });
    expect(accessLines().find((l) => l.requestId === missing.headers["x-request-id"])).toMatchObject({ route: "/fhir/:type/:id", status: missing.status });
    const badUrl = await service.request({ method: "GET", url: "/fhir/Condition/%ED%A0%80", headers: hospital });
    expect(badUrl.status).toBe(400);
    expect(accessLines().find((l) => l.requestId === badUrl.headers["x-request-id"])).toMatchObject({ route: "unrouted", status: 400, method: "GET" });
  });

  it("writes every line as JSON with an ISO time and a string message, and one access line per request without its URL", () => {
    expect(raw.length).toBeGreaterThan(50);
    for (const l of lines()) {
      expect(typeof l.message).toBe("string");
      expect(new Date(l.time as string).toISOString()).toBe(l.time);
    }
    const access = accessLines();
    expect(new Set(access.map((l) => l.requestId)).size).toBe(access.length);
    const text = access.map((l) => JSON.stringify(l)).join("\n");
    expect(text.toLowerCase()).not.toContain(alice.address.slice(2).toLowerCase());
    expect(text).not.toMatch(/secret-words|nowhere|purpose=|\?/);
  });
});
