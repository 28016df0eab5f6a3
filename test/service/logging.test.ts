import { jsonLogger } from "../../service/common/logger";

/** What the service prints at start-up: Nest's module and route lines only at debug. */
describe("service logger", () => {
  const capture = (level: "log" | "debug") => {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const logger = jsonLogger(level);
      logger.log("Mapped {/consents, GET} route", "RouterExplorer");
      logger.log("ConsentsController {/consents}:", "RoutesResolver");
      logger.log("AppModule dependencies initialized", "InstanceLoader");
      logger.log({ message: "Chain verified", chainId: 31337 }, "ChainService");
    } finally {
      spy.mockRestore();
    }
    return lines.map((l) => JSON.parse(l) as { level: string; context: string });
  };

  it("puts Nest's start-up and route mapping at debug, and keeps the service's own lines at log", () => {
    expect(capture("log").map((l) => l.context)).toEqual(["ChainService"]);
    const debug = capture("debug");
    expect(debug.map((l) => [l.context, l.level])).toEqual([
      ["RouterExplorer", "debug"],
      ["RoutesResolver", "debug"],
      ["InstanceLoader", "debug"],
      ["ChainService", "log"],
    ]);
  });
});
