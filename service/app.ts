import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter, type NestFastifyApplication } from "@nestjs/platform-fastify";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { AppModule, type AppModuleOptions } from "./app.module";
import type { AppConfig } from "./config/app-config";
import { jsonLogger } from "./common/logger";
import { ProblemFilter } from "./common/problem.filter";
import { validationPipe } from "./common/validation";
import { RefusalRecorder } from "./audit/refusal-recorder";

/** Builds the service (not yet listening). Start-up checks that fail reject with a one-line error. */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: config.BODY_LIMIT_BYTES, logger: false });
  adapter.getInstance().addContentTypeParser(
    "application/fhir+json",
    { parseAs: "string", bodyLimit: config.BODY_LIMIT_BYTES },
    adapter.getInstance().getDefaultJsonParser("error", "ignore"),
  );
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    logger: jsonLogger(config.LOG_LEVEL),
    abortOnError: false,
  });
  app.useGlobalFilters(new ProblemFilter(app.get(RefusalRecorder)));
  app.useGlobalPipes(validationPipe());

  const openApi = new DocumentBuilder()
    .setTitle("Consentry")
    .setDescription(
      "Consent and audit ledger for health data. Errors are application/problem+json (RFC 9457) with a stable `type`.",
    )
    .setVersion("0.1.0")
    .addBearerAuth()
    .build();
  SwaggerModule.setup("docs", app, () => SwaggerModule.createDocument(app, openApi), {
    jsonDocumentUrl: "docs/openapi.json",
  });
  try {
    await app.init();
  } catch (error) {
    // Start-up checks run in init hooks; release the database and timers they may already hold.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
