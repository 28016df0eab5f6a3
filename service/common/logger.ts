import { ConsoleLogger, type LogLevel } from "@nestjs/common";

const LEVELS: LogLevel[] = ["fatal", "error", "warn", "log", "debug", "verbose"];

/** One JSON object per line. Messages must never carry names, identifiers or record content. */
export function jsonLogger(level: LogLevel): ConsoleLogger {
  return new ConsoleLogger({ json: true, logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
}
