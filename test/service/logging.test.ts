import { Logger } from "@nestjs/common";
import { jsonLogger } from "../../service/common/logger";

type Line = { level: string; time: string; pid: number; context?: string; message: unknown; [field: string]: unknown };

/** What the service's logger writes: JSON lines (pino), ISO times, a string message, Nest's start-up lines at debug. */
describe("service logger", () => {
  const capture = (level: "log" | "debug" | "error", write: (logger: ReturnType<typeof jsonLogger>) => void): { raw: string[]; lines: Line[] } => {
    const raw: string[] = [];
    write(jsonLogger(level, { write: (chunk: string) => void raw.push(chunk) }));
    return { raw, lines: raw.map((l) => JSON.parse(l) as Line) };
  };

  const startUp = (logger: ReturnType<typeof jsonLogger>) => {
    logger.log("Mapped {/consents, GET} route", "RouterExplorer");
    logger.log("ConsentsController {/consents}:", "RoutesResolver");
    logger.log("AppModule dependencies initialized", "InstanceLoader");
    logger.log({ message: "Chain verified", chainId: 31337 }, "ChainService");
  };

  it("puts Nest's start-up and route mapping at debug, and keeps the service's own lines at log", () => {
    expect(capture("log", startUp).lines.map((l) => l.context)).toEqual(["ChainService"]);
    expect(capture("debug", startUp).lines.map((l) => [l.context, l.level])).toEqual([
      ["RouterExplorer", "debug"],
      ["RoutesResolver", "debug"],
      ["InstanceLoader", "debug"],
      ["ChainService", "log"],
    ]);
  });

  it("writes one JSON object per line with an ISO time and a string message, an object's fields beside it", () => {
    const { raw, lines } = capture("log", startUp);
    expect(raw.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const [line] = lines;
    expect(line).toEqual({ level: "log", time: expect.any(String), pid: process.pid, context: "ChainService", message: "Chain verified", chainId: 31337 });
    expect(new Date(line.time).toISOString()).toBe(line.time);
    // The frame comes first, in this order: a reader (or a regex) finds the message right after the context.
    expect(raw[0]).toMatch(/^\{"level":"log","time":"[^"]+","pid":\d+,"context":"ChainService","message":"Chain verified","chainId":31337\}\n$/);
  });

  it("keeps the message a string whatever is logged, and the frame's keys its own", () => {
    const { lines } = capture("log", (logger) => {
      logger.log({ count: 3 }, "A");
      logger.warn(42, "B");
      logger.log({ message: { nested: true }, level: "fatal", time: 0 }, "C");
      logger.log("no context");
    });
    expect(lines.map((l) => typeof l.message)).toEqual(["string", "string", "string", "string"]);
    expect(lines[0]).toMatchObject({ context: "A", message: "(no message)", count: 3 });
    expect(lines[1]).toMatchObject({ level: "warn", context: "B", message: "42" });
    expect(lines[2]).toMatchObject({ level: "log", context: "C", message: "[object Object]", "field.level": "fatal", "field.time": 0 });
    expect(lines[3]).not.toHaveProperty("context");
  });

  it("logs errors structured: type and a redacted first line, stack frames without the message", () => {
    const error = new TypeError(`Cannot read record of 0x${"ab".repeat(20)} for "Elisa944 Johnson679", MRN 1234567\nsecond line`);
    const { lines } = capture("log", (logger) => {
      logger.error(error, "Boom");
      logger.error("Unhandled", error.stack, "Boom");
      logger.warn({ message: "Pass failed", error }, "Boom");
    });
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/Elisa944|Johnson679|1234567|abababab|second line/);
    expect(lines[0]).toMatchObject({ level: "error", context: "Boom", message: "TypeError", error: { type: "TypeError", message: expect.stringContaining("Cannot read record of 0x…") } });
    expect(lines[0].frames).toEqual(expect.arrayContaining([expect.stringMatching(/^at /)]));
    expect(lines[1]).toMatchObject({ level: "error", context: "Boom", message: "Unhandled" });
    expect((lines[1].frames as string[]).every((f) => f.startsWith("at "))).toBe(true);
    expect(lines[2]).toMatchObject({ level: "warn", message: "Pass failed", error: { type: "TypeError" } });
    expect(lines[2]).not.toHaveProperty("frames");
  });

  it("keeps LOG_LEVEL's meaning: a level shows itself and what is more severe", () => {
    const all = (logger: ReturnType<typeof jsonLogger>) => {
      for (const level of ["verbose", "debug", "log", "warn", "error", "fatal"] as const) logger[level](`at ${level}`, "L");
    };
    expect(capture("error", all).lines.map((l) => l.level)).toEqual(["error", "fatal"]);
    expect(capture("log", all).lines.map((l) => l.level)).toEqual(["log", "warn", "error", "fatal"]);
  });

  it("serves Nest's Logger instances, context and all", () => {
    const { lines } = capture("log", (logger) => {
      Logger.overrideLogger(logger);
      try {
        new Logger("AnchorService").log({ message: "Batch anchored", batchId: 3, events: 25, block: 7 });
        new Logger("TrailMonitor").error({ message: "Access trail integrity alarm", seq: 9, reason: "leaf-mismatch" });
      } finally {
        Logger.overrideLogger(false);
      }
    });
    expect(lines).toEqual([
      expect.objectContaining({ level: "log", context: "AnchorService", message: "Batch anchored", batchId: 3, events: 25, block: 7 }),
      expect.objectContaining({ level: "error", context: "TrailMonitor", message: "Access trail integrity alarm", seq: 9, reason: "leaf-mismatch" }),
    ]);
  });
});
