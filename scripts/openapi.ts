/**
 * `npm run openapi [-- --out FILE]`: the service's OpenAPI document, built offline — the Nest application in
 * preview mode (its modules and controllers resolved from their metadata, no provider constructed), so no
 * chain, database or secret is needed — and written to FILE or stdout.
 *
 * `npm run lint:openapi` (part of `npm run lint`): the same document, written to a temporary file and checked by
 * `redocly lint` with the committed redocly.yaml; fails on any error or warning (redocly itself fails on errors only).
 */
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import type { OpenAPIObject } from "@nestjs/swagger";
import { AppModule } from "../service/app.module";
import { loadConfig } from "../service/config/app-config";
import { PROJECT_ROOT } from "../service/paths";
import { buildOpenApiDocument } from "../service/portal/openapi";

/** The document a running service serves at /docs/openapi.json, without running one. */
export async function offlineOpenApiDocument(): Promise<OpenAPIObject> {
  // Settings are only read by providers, which preview mode never constructs; these satisfy validation.
  const config = loadConfig({ CHAIN_RPC_URL: "http://127.0.0.1:8545", DEPLOYMENT: "deployments/offline.json", JWT_SECRET: "offline-".repeat(4), MASTER_KEY: "00".repeat(32) });
  const app = await NestFactory.create(AppModule.forRoot(config), new FastifyAdapter(), { preview: true, logger: false, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

interface RedoclyReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer?: string }> }>;
}

/** Runs redocly lint on the document: 0 when it reports no error and no warning, 1 otherwise. */
export async function lintOpenApi(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "consentry-openapi-"));
  try {
    const file = join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(await offlineOpenApiDocument(), null, 2));
    const redocly = join(PROJECT_ROOT, "node_modules", ".bin", "redocly");
    const result = spawnSync(redocly, ["lint", file, "--config", join(PROJECT_ROOT, "redocly.yaml"), "--format", "json", "--max-problems", "1000"], {
      encoding: "utf8",
      // No telemetry and no update check: linting makes no network request.
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    });
    let report: RedoclyReport;
    try {
      report = JSON.parse(result.stdout) as RedoclyReport;
    } catch {
      process.stderr.write(result.stdout + result.stderr);
      console.error("openapi: redocly lint produced no report");
      return 1;
    }
    for (const p of report.problems) console.error(`${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}: ${p.message}`);
    const { errors, warnings, ignored } = report.totals;
    console.log(`redocly lint (redocly.yaml): ${errors} errors, ${warnings} warnings${ignored ? `, ${ignored} ignored` : ""}`);
    return errors + warnings === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--lint")) {
    process.exitCode = await lintOpenApi();
    return;
  }
  const document = JSON.stringify(await offlineOpenApiDocument(), null, 2) + "\n";
  const out = args.indexOf("--out");
  if (out >= 0 && args[out + 1]) writeFileSync(args[out + 1], document);
  else process.stdout.write(document);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`openapi: ${error.message}`);
    process.exit(1);
  });
}
