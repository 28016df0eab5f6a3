import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import { SwaggerModule } from "@nestjs/swagger";
import type { FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AppConfig } from "../config/app-config";
import { PROJECT_ROOT } from "../paths";
import { buildOpenApiDocument } from "./openapi";

/** A demo account the portal offers to sign in with: Hardhat's public development keys, `npm start` only. */
export interface PortalDemoAccount {
  name: string;
  role: string;
  address: string;
  privateKey: string;
}

export interface PortalOptions {
  /** Set by the dev stack only: the portal then offers these accounts to sign in with. */
  demoAccounts?: readonly PortalDemoAccount[];
}

/** The browser script, read from the source tree (it is not TypeScript, so `npm run build` does not copy it). */
const SIGN_IN_SCRIPT = join(PROJECT_ROOT, "service", "portal", "sign-in.js");

/**
 * The developer portal at /docs: Swagger UI over the completed OpenAPI document (also at /docs/openapi.json),
 * with a sign-in bar (/docs/portal/sign-in.js, a file of this service: no external requests, and allowed by the
 * CSP's `script-src 'self'`) that signs the challenge with a browser wallet (EIP-1193 `personal_sign`) or, in dev
 * mode only, a demo account, and fills Authorize with the token. The demo keys and the signing library that uses
 * them are served only when the dev stack passes `demoAccounts`; `npm run start:prod` never does.
 */
export function installPortal(app: NestFastifyApplication, config: AppConfig, options: PortalOptions = {}): void {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  SwaggerModule.setup("docs", app, () => (document ??= buildOpenApiDocument(app, config.PUBLIC_URL ?? "/")), {
    jsonDocumentUrl: "docs/openapi.json",
    customSiteTitle: "Consentry developer portal",
    customJs: ["/docs/portal/sign-in.js"],
    swaggerOptions: { displayRequestDuration: true, tryItOutEnabled: true },
  });
  const dev = options.demoAccounts !== undefined;
  const portalConfig = {
    dev,
    demoAccounts: (options.demoAccounts ?? []).map(({ name, role, address, privateKey }) => ({ name, role, address, privateKey })),
  };
  const script = readFileSync(SIGN_IN_SCRIPT, "utf8");
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  // Plain routes under /docs like Swagger UI's own: public, outside the rate limit, cacheable.
  fastify.get("/docs/portal/sign-in.js", async (_request, reply) => reply.type("application/javascript; charset=utf-8").send(script));
  fastify.get("/docs/portal/config", async () => portalConfig);
  if (dev) {
    // ethers' browser build, for signing with a demo key in the page (loaded only when one is picked).
    const ethers = readFileSync(join(dirname(require.resolve("ethers")), "..", "dist", "ethers.min.js"), "utf8");
    fastify.get("/docs/portal/ethers.js", async (_request, reply) => reply.type("application/javascript; charset=utf-8").send(ethers));
  }
}
