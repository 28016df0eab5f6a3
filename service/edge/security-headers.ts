import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";

/**
 * Browser-facing protections: nosniff, no framing, no referrer, a Content-Security-Policy under which the
 * Swagger UI at /docs and the web console still work (the console may also read the chain at
 * `chainOrigins`), HSTS when serving TLS; `Cache-Control: no-store` on every API answer (they carry health
 * data, tokens or trail entries) — only a route that declares its own `cacheControl` in its route config
 * (the console's static files) keeps that; CORS closed unless origins are listed.
 */
export async function installSecurityHeaders(
  app: NestFastifyApplication,
  options: { tls: boolean; corsOrigins: string[]; chainOrigins?: string[] },
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Swagger UI sets inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        // The console checks proofs against roots it reads from the chain itself (PUBLIC_CHAIN_RPC_URL).
        connectSrc: ["'self'", ...(options.chainOrigins ?? [])],
        fontSrc: ["'self'", "data:"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    strictTransportSecurity: options.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(cors, {
    origin: options.corsOrigins.length > 0 ? options.corsOrigins : false,
    methods: ["GET", "POST", "PUT"],
    allowedHeaders: ["authorization", "content-type", "if-match"],
    exposedHeaders: ["etag", "location", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
    maxAge: 600,
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook("onSend", async (request, reply) => {
      if (request.url.startsWith("/docs")) return;
      const own = reply.statusCode < 400 ? (request.routeOptions.config as { cacheControl?: string } | undefined)?.cacheControl : undefined;
      reply.header("cache-control", own ?? "no-store");
    });
}
