import cors from "@fastify/cors";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import helmet, { type HelmetOptions } from "helmet";
import type { IncomingMessage, ServerResponse } from "node:http";

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
  const headers = helmetHeaders({
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
  // Helmet's headers are the same for every answer: computed once, set by one hook (errors and 404s included).
  // (@fastify/helmet rebuilt helmet's middleware, parsing the CSP again, on every request.)
  app
    .getHttpAdapter()
    .getInstance()
    .addHook("onRequest", (_request, reply, done) => {
      reply.headers(headers);
      done();
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

/** The headers helmet sets for `options`, as a plain object (helmet's middleware run once on a recording response). */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => (failed = error));
  if (failed) throw failed;
  return headers;
}
