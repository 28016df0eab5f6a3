import type { LoggerService, LogLevel } from "@nestjs/common";
import pino, { type DestinationStream, type Logger as Pino } from "pino";
import { redact } from "./redact";

/** LOG_LEVEL's values, most severe first: a level shows itself and everything above it. */
export const LOG_LEVELS = ["fatal", "error", "warn", "log", "debug", "verbose"] as const satisfies readonly LogLevel[];
export type ServiceLogLevel = (typeof LOG_LEVELS)[number];

/** Nest's level names as pino levels, so a line's `level` reads as LOG_LEVEL is written. */
const PINO_LEVELS: Record<ServiceLogLevel, number> = { fatal: 60, error: 50, warn: 40, log: 30, debug: 20, verbose: 10 };

export type ServicePino = Pino<ServiceLogLevel, boolean>;

/**
 * Nest's own start-up chatter — modules initialised, every route mapped (about 80 lines), application
 * started — is logged at `debug`: at the default level start-up prints only what an operator acts on.
 */
const START_UP_CONTEXTS = new Set(["NestFactory", "InstanceLoader", "RoutesResolver", "RouterExplorer", "NestApplication"]);

/** Keys a line's own fields may not take: they are the line's frame. */
const FRAME_KEYS = new Set(["level", "time", "pid", "context", "message"]);

/** Stack frames kept on an error line: where it happened, never the message (which can quote values). */
const MAX_FRAMES = 8;

/**
 * One JSON object per line (pino), written synchronously to stdout:
 * `{"level":"log","time":"2026-11-27T16:20:26.123Z","pid":4242,"context":"AnchorService","message":"Batch anchored","batchId":3,…}`.
 * `time` is ISO 8601 (UTC), `message` is always a string, the line's other fields follow it. Messages and
 * fields must never carry names, identifiers or record content; errors are logged as
 * `{"error":{"type":…,"message":<redacted first line>}}` and, for the unexpected, the stack's frames only.
 */
export function createPino(level: ServiceLogLevel, destination?: DestinationStream): ServicePino {
  return pino<ServiceLogLevel, boolean>(
    {
      level,
      customLevels: PINO_LEVELS,
      useOnlyCustomLevels: true,
      messageKey: "message",
      errorKey: "error",
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
      // Nothing reaches pino's error serializer (stacks, causes): errors are flattened by `fields` first.
      serializers: { error: (value: unknown) => errorFields(value) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * Nest's logger (NestFactory's `logger`, hence every `new Logger(context)` of the service) over pino.
 * A message may be a string or an object with a string `message` and other fields (`logger.warn({ message:
 * "Lock lost", lock })`): the fields become the line's own. LOG_LEVEL keeps its meaning.
 */
export class ServiceLogger implements LoggerService {
  constructor(readonly pino: ServicePino) {}

  log(message: unknown, ...rest: unknown[]): void {
    const { context } = contextOf(rest);
    this.write(typeof context === "string" && START_UP_CONTEXTS.has(context) ? "debug" : "log", message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write("error", message, rest, true);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write("warn", message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write("debug", message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write("verbose", message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write("fatal", message, rest, true);
  }

  private write(level: ServiceLogLevel, message: unknown, rest: unknown[], withStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const { context, stack } = contextOf(rest, withStack);
    this.pino[level](lineOf(message, context, stack));
  }
}

/** Nest appends the context as the last argument; `error` may put a stack before it. */
function contextOf(rest: unknown[], withStack = false): { context?: string; stack?: string } {
  if (rest.length === 0) return {};
  const last = rest[rest.length - 1];
  const context = typeof last === "string" && !looksLikeStack(last) ? last : undefined;
  if (!withStack) return { context };
  const stack = rest.find((r): r is string => typeof r === "string" && looksLikeStack(r));
  return { context, stack };
}

const looksLikeStack = (text: string): boolean => /\n\s+at /.test(text);

/** The line for one log call: `{ context, message, ...fields }`, message a string whatever was logged. */
export function lineOf(message: unknown, context?: string, stack?: string): Record<string, unknown> {
  const line: Record<string, unknown> = context ? { context } : {};
  if (typeof message === "string") {
    line.message = message;
  } else if (message instanceof Error) {
    line.message = message.name;
    line.error = errorFields(message);
    stack ??= message.stack;
  } else if (message && typeof message === "object") {
    const { message: text, ...fields } = message as Record<string, unknown>;
    line.message = typeof text === "string" ? text : text === undefined ? "(no message)" : String(text);
    for (const [key, value] of Object.entries(fields)) {
      line[FRAME_KEYS.has(key) ? `field.${key}` : key] = value instanceof Error ? errorFields(value) : value;
    }
  } else {
    line.message = String(message);
  }
  const frames = stack ? framesOf(stack) : [];
  if (frames.length > 0) line.frames = frames;
  return line;
}

/** An error as fields: its type and the first line of its message, redacted of values. */
export function errorFields(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { type: error.name, message: redact(error.message.split("\n")[0]) };
}

function framesOf(stack: string): string[] {
  return stack
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .slice(0, MAX_FRAMES)
    .map((l) => l.trim());
}

/** The service's Nest logger at `level`, over a pino instance writing to stdout (or `destination`). */
export function jsonLogger(level: LogLevel, destination?: DestinationStream): ServiceLogger {
  return new ServiceLogger(createPino(asServiceLevel(level), destination));
}

function asServiceLevel(level: LogLevel): ServiceLogLevel {
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as ServiceLogLevel) : "log";
}

const processLoggers = new Map<LogLevel, ServiceLogger>();

/**
 * Lines written outside Nest (the cluster's primary, start-up, a crash), in the same format, at `level`
 * (LOG_LEVEL): `processLog(config.LOG_LEVEL).log({ message: "Supervising workers", workers }, "Supervisor")`.
 */
export function processLog(level: LogLevel = "log"): ServiceLogger {
  let logger = processLoggers.get(level);
  if (!logger) processLoggers.set(level, (logger = jsonLogger(level)));
  return logger;
}
