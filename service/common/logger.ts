import { ConsoleLogger, type LogLevel } from "@nestjs/common";

const LEVELS: LogLevel[] = ["fatal", "error", "warn", "log", "debug", "verbose"];

/**
 * Nest's own start-up chatter — modules initialised, every route mapped (about 80 lines), application
 * started — is logged at `debug`: at the default level start-up prints only what an operator acts on.
 */
const START_UP_CONTEXTS = new Set(["NestFactory", "InstanceLoader", "RoutesResolver", "RouterExplorer", "NestApplication"]);

class ServiceLogger extends ConsoleLogger {
  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest.length > 0 ? rest[rest.length - 1] : this.context;
    if (typeof context === "string" && START_UP_CONTEXTS.has(context)) return super.debug(message, ...rest);
    super.log(message, ...rest);
  }
}

/** One JSON object per line. Messages must never carry names, identifiers or record content. */
export function jsonLogger(level: LogLevel): ConsoleLogger {
  return new ServiceLogger({ json: true, logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
}
