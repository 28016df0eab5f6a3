import { Wallet } from "ethers";
import { demoAccounts } from "../../scripts/lib/demo-accounts";
import { lintOpenApi, offlineOpenApiDocument } from "../../scripts/openapi";
import type { Deployment } from "../../service/chain/deployment";
import { createApp } from "../../service/app";
import { loadConfig } from "../../service/config/app-config";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, testServiceEnv, writeTempDeployment, type TestService } from "../support/service";
import { testDatabase } from "../support/database";

const METHODS = ["get", "put", "post", "delete", "patch"];

interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

/**
 * The developer portal: the OpenAPI document the service serves is the one `npm run lint` checks (built
 * offline, from the module metadata alone), it is complete (every path parameter, a summary and description,
 * security, a Problem schema on every error), and /docs carries a sign-in bar that needs nothing from outside.
 */
describe("developer portal", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let served: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider });
    served = (await service.request({ method: "GET", url: "/docs/openapi.json" })).body;
  });

  afterAll(() => service?.close());

  const operations = () =>
    Object.entries(served.paths).flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ path, method, op })));

  it("serves the document that is linted: built offline, without a chain or database, it is the same", async () => {
    expect(JSON.parse(JSON.stringify(await offlineOpenApiDocument()))).toEqual(served);
  });

  it("passes redocly lint with no error and no warning", async () => {
    expect(await lintOpenApi()).toBe(0);
  });

  it("declares every path parameter, and gives every operation a summary, a description and its security", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(28);
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect([where, declared]).toEqual([where, named]);
      expect([where, !!op.summary, !!op.description]).toEqual([where, true, true]);
      expect([where, Array.isArray(op.security)]).toEqual([where, true]);
    }
    const consent = served.paths["/consents/{id}"].get;
    expect(consent.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true })]);
  });

  it("marks public routes security: [] and the rest bearer", () => {
    const security = Object.fromEntries(operations().map(({ path, method, op }) => [`${method.toUpperCase()} ${path}`, op.security]));
    for (const route of ["POST /auth/challenge", "POST /auth/token", "GET /health", "GET /.well-known/consentry", "GET /cds-services"]) expect([route, security[route]]).toEqual([route, []]);
    for (const route of ["GET /consents/{id}", "GET /institutions", "POST /institutions", "GET /fhir/{type}/{id}", "GET /patients/{address}/nonce"]) {
      expect([route, security[route]]).toEqual([route, [{ bearer: [] }]]);
    }
  });

  it("puts the Problem schema on every error response, and FHIR schemas on FHIR bodies", () => {
    for (const { path, method, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const where = `${method.toUpperCase()} ${path} ${status}`;
        if (path === "/health" && status === "503") continue; // the health report itself, not a problem
        if (path === "/cds-services/patient-consent-consult") {
          // HL7 LEAP's consult answers errors in LEAP's shape (docs/leap.md).
          expect([where, response.content?.["application/json"]?.schema?.$ref]).toEqual([where, "#/components/schemas/LeapError"]);
          continue;
        }
        expect([where, response.content?.["application/problem+json"]?.schema?.$ref]).toEqual([where, "#/components/schemas/Problem"]);
      }
    }
    expect(served.components.schemas).toHaveProperty("Problem");
    const read = served.paths["/fhir/{type}/{id}"].get;
    expect(read.responses["200"].content?.["application/fhir+json"]?.schema?.$ref).toBe("#/components/schemas/FhirResource");
    expect(served.paths["/fhir/{type}"].get.responses["200"].content?.["application/fhir+json"]?.schema?.$ref).toBe("#/components/schemas/FhirBundle");
    const create = served.paths["/fhir/{type}"].post as Operation & { requestBody?: { content: Record<string, { schema: { $ref: string } }> } };
    expect(create.requestBody?.content["application/fhir+json"].schema.$ref).toBe("#/components/schemas/FhirResource");
  });

  it("serves /docs with the sign-in bar, from this service only, under the CSP", async () => {
    const page = await service.request({ method: "GET", url: "/docs" });
    expect(page.status).toBe(200);
    expect(page.text).toContain("<script src='/docs/portal/sign-in.js'></script>");
    // Nothing is fetched from another origin.
    expect(page.text).not.toMatch(/(src|href)=['"]https?:/);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-eval");
    const script = await service.request({ method: "GET", url: "/docs/portal/sign-in.js" });
    expect([script.status, script.headers["content-type"]]).toEqual([200, "application/javascript; charset=utf-8"]);
    expect(script.text).toContain("personal_sign");
    expect(script.text).toContain("preauthorizeApiKey");
    expect(script.text).not.toMatch(/https?:\/\//);
  });

  it("offers no demo account and no signing library outside dev mode", async () => {
    const config = await service.request({ method: "GET", url: "/docs/portal/config" });
    expect(config.body).toEqual({ dev: false, demoAccounts: [] });
    expect((await service.request({ method: "GET", url: "/docs/portal/ethers.js" })).status).toBe(404);
  });

  it("in dev mode, offers the demo accounts, whose keys sign in as the portal's script does", async () => {
    const database = await testDatabase();
    const config = loadConfig({ CHAIN_RPC_URL: "http://127.0.0.1:8545", ...testServiceEnv(), LOG_LEVEL: "error", ...database.settings, DEPLOYMENT: writeTempDeployment(deployment) });
    const app = await createApp(config, { provider: chain.provider, demoAccounts: demoAccounts() });
    try {
      const inject = (method: "GET" | "POST", url: string, payload?: object) => app.getHttpAdapter().getInstance().inject({ method, url, payload });
      const portal = (await inject("GET", "/docs/portal/config")).json();
      expect(portal.dev).toBe(true);
      const lab = portal.demoAccounts.find((a: { name: string }) => a.name === "Northside Lab");
      expect(lab.address).toBe("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
      const ethers = await inject("GET", "/docs/portal/ethers.js");
      expect([ethers.statusCode, ethers.body.includes("signMessage")]).toEqual([200, true]);

      // What the script does with the picked account: challenge, personal_sign with its key, token.
      const { message } = (await inject("POST", "/auth/challenge", { address: lab.address })).json();
      const token = (await inject("POST", "/auth/token", { message, signature: await new Wallet(lab.privateKey).signMessage(message) })).json();
      expect(token.roles).toEqual(["institution"]);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
