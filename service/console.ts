import fastifyStatic from "@fastify/static";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { notFound, unavailable } from "./common/problem";
import { CONSOLE_DIR } from "./paths";

/** The console's pages: one HTML file whose script shows the view the path names. */
export const CONSOLE_PAGES = ["/", "/patient", "/institution", "/regulator"] as const;

declare module "fastify" {
  interface FastifyContextConfig {
    /** A route's own Cache-Control, kept by the security headers (service/edge/security-headers.ts); others get no-store. */
    cacheControl?: string;
  }
}

/** Built assets carry a content hash in their names (`app-3F2A….js`), so they never change under a URL. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.(js|css|svg)$/;

/** HTML revalidates (ETag) so a new build shows at once; hashed assets are immutable. */
const HTML_CACHE = "no-cache";
const ASSET_CACHE = "public, max-age=31536000, immutable";

/** A demo account the console offers to sign in with (Hardhat's public keys; `npm start` only). */
export interface ConsoleDemoAccount {
  name: string;
  role: string;
  address: string;
  privateKey: string;
}

export interface ConsoleOptions {
  /** Set by the dev stack only: the console then offers these accounts to sign in with. */
  demoAccounts?: readonly ConsoleDemoAccount[];
  /** JSON-RPC URL a browser may read the chain from (PUBLIC_CHAIN_RPC_URL); proofs are then checked against the chain itself. */
  publicChainRpcUrl?: string;
  chainId: number;
  /** Renders errors of these routes as problems (the service's problem handler for routes Nest does not own). */
  problems: (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;
  /** Where the built console lives; defaults to CONSOLE_DIR. */
  dir?: string;
}

/**
 * The web console (console/, built to static files) served by the service itself: its pages at `/`,
 * `/patient`, `/institution`, `/regulator`, its hashed assets under `/console/assets/`, and
 * `/console/config` (dev mode, the public chain URL). These are plain Fastify routes, outside the API and
 * its OpenAPI document: public, out of the rate limit (static files, like /docs), each declaring its own
 * Cache-Control, which the security headers keep; everything else stays `no-store`. Errors are problems.
 */
export async function installConsole(app: NestFastifyApplication, options: ConsoleOptions): Promise<void> {
  const dir = options.dir ?? CONSOLE_DIR;
  await app.register(fastifyStatic, { serve: false });
  await app.register(async (fastify: FastifyInstance) => {
    const common = { errorHandler: options.problems };
    for (const page of CONSOLE_PAGES) {
      fastify.get(page, { ...common, config: { rateLimit: false, cacheControl: HTML_CACHE } }, (_request, reply) => {
        if (!existsSync(join(dir, "index.html"))) {
          throw unavailable("console-not-built", "The web console has not been built: run `npm run build:console` (part of `npm run compile`)");
        }
        return reply.sendFile("index.html", dir, { cacheControl: false });
      });
    }
    fastify.get<{ Params: { "*": string } }>(
      "/console/assets/*",
      { ...common, config: { rateLimit: false, cacheControl: ASSET_CACHE } },
      (request, reply) => {
        const name = request.params["*"];
        if (!ASSET_NAME.test(name)) throw notFound("not-found", "No such console asset");
        return reply.sendFile(name, join(dir, "assets"), { cacheControl: false });
      },
    );
    const config = {
      dev: !!options.demoAccounts,
      chain: { chainId: options.chainId, rpcUrl: options.publicChainRpcUrl ?? null },
      demoAccounts: options.demoAccounts ?? [],
    };
    fastify.get("/console/config", common, async () => config);
  });
}
