import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Deployment } from "../../service/chain/deployment";
import { CONSOLE_DIR } from "../../service/paths";
import { buildConsole } from "../../scripts/build-console";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";

/** The web console as the service serves it: pages, assets, headers, and files that load nothing from elsewhere. */
describe("web console (served by the service)", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let built: { files: string[]; ms: number };
  const PUBLIC_CHAIN = "http://chain.consentry.test:8545";

  beforeAll(async () => {
    // `npm test` builds it in pretest; building again here measures the build and makes the test self-contained.
    built = await buildConsole();
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { PUBLIC_CHAIN_RPC_URL: PUBLIC_CHAIN } });
  });

  afterAll(async () => {
    await service?.close();
  });

  const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);

  it("builds offline with esbuild in well under two seconds", () => {
    expect(built.files).toEqual(expect.arrayContaining(["index.html", expect.stringMatching(/^assets\/app-\w+\.js$/), expect.stringMatching(/^assets\/style-\w+\.css$/)]));
    expect(built.ms).toBeLessThan(2_000);
  });

  it("serves the same page at /, /patient, /institution and /regulator, revalidated rather than stored", async () => {
    for (const url of ["/", "/patient", "/institution", "/regulator"]) {
      const res = await service.request({ method: "GET", url });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/html; charset=utf-8/);
      expect(res.headers["cache-control"]).toBe("no-cache");
      expect(res.headers.etag).toBeDefined();
      expect(res.text).toContain("<title>Consentry console</title>");
      expect(assetsOf(res.text)).toHaveLength(2);
    }
    const head = await service.request({ method: "HEAD", url: "/patient" });
    expect(head.status).toBe(200);
  });

  it("serves its hashed assets with their content types, cacheable forever", async () => {
    const page = await service.request({ method: "GET", url: "/" });
    for (const asset of assetsOf(page.text)) {
      const res = await service.request({ method: "GET", url: asset });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(asset.endsWith(".js") ? /^application\/javascript/ : /^text\/css/);
      expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.text.length).toBeGreaterThan(1_000);
    }
  });

  it("works under the service's CSP: only its own scripts and styles, no framing, the public chain for proofs", async () => {
    const page = await service.request({ method: "GET", url: "/patient" });
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' http:\/\/chain\.consentry\.test:8545(;|$)/);
    expect(page.headers["x-frame-options"]).toBe("DENY");
    // Nothing inline that the CSP would block: every script has a src, no event-handler attributes, no style attributes.
    expect(page.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\son[a-z]+=/i);
    expect(page.text).not.toMatch(/\sstyle=/i);
    // No eval-like constructs in the bundle (script-src has no 'unsafe-eval').
    const script = readFileSync(join(CONSOLE_DIR, assetsOf(page.text).find((a) => a.endsWith(".js"))!.replace("/console/", "")), "utf8");
    expect(script).not.toMatch(/\beval\(|new Function\(/);
  });

  it("contains no external URL: nothing is loaded from a CDN, font host or analytics service", () => {
    const files = ["index.html", ...readdirSync(join(CONSOLE_DIR, "assets")).map((f) => `assets/${f}`)];
    for (const file of files) {
      const text = readFileSync(join(CONSOLE_DIR, file), "utf8");
      expect({ file, urls: text.match(/\b(?:https?|wss?):\/\/[^\s"'`)]*/gi) ?? [] }).toEqual({ file, urls: [] });
      // No protocol-relative references either (src="//cdn…", url(//…), @import).
      expect(text).not.toMatch(/(?:src|href)=["']\/\//i);
      expect(text).not.toMatch(/url\(\s*["']?\/\//i);
      expect(text).not.toMatch(/@import/i);
    }
  });

  it("publishes its configuration: no demo accounts outside the dev stack, the chain URL browsers may use", async () => {
    const res = await service.request({ method: "GET", url: "/console/config" });
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toEqual({ dev: false, chain: { chainId: deployment.chainId, rpcUrl: PUBLIC_CHAIN }, demoAccounts: [] });
  });

  it("keeps the API's answers no-store and its errors problems beside the console", async () => {
    const lab = await consentClient(service, chain.provider, deployment).signIn(walletOf("institution", 1));
    const api = await service.request({ method: "GET", url: "/audit/events", headers: lab });
    expect(api.status).toBe(200);
    expect(api.headers["cache-control"]).toBe("no-store");
    const missing = await service.request({ method: "GET", url: "/console/assets/app-MISSING.js" });
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(missing.headers["cache-control"]).toBe("no-store");
    const traversal = await service.request({ method: "GET", url: "/console/assets/..%2F..%2Fpackage.json" });
    expect(traversal.status).toBe(404);
    expect(traversal.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const post = await service.request({ method: "POST", url: "/patient", payload: {} });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    expect(post.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const unknown = await service.request({ method: "GET", url: "/patients" });
    expect(unknown.status).toBe(404);
    expect(unknown.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("lists a patient's enrolments to the patient, and to a custodian only its own", async () => {
    const client = consentClient(service, chain.provider, deployment);
    const alice = walletOf("patient", 0);
    const hospital = await client.signIn(walletOf("institution", 0));
    const lab = await client.signIn(walletOf("institution", 1));
    expect((await client.enrol(alice, hospital)).status).toBe(201);
    const aliceAuth = await client.signIn(alice);
    const own = await service.request({ method: "GET", url: `/patients/${alice.address}/enrolments`, headers: aliceAuth });
    expect(own.status).toBe(200);
    expect(own.body).toEqual([{ custodian: walletOf("institution", 0).address, identifiersHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), enrolledAt: expect.any(String) }]);
    expect((await service.request({ method: "GET", url: `/patients/${alice.address}/enrolments`, headers: hospital })).body).toHaveLength(1);
    expect((await service.request({ method: "GET", url: `/patients/${alice.address}/enrolments`, headers: lab })).body).toEqual([]);
    const bob = await client.signIn(walletOf("patient", 1));
    const other = await service.request({ method: "GET", url: `/patients/${alice.address}/enrolments`, headers: bob });
    expect(other.status).toBe(403);
    expect(other.body.type).toBe("urn:consentry:problem:enrolment-scope");
  });
});
