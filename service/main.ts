import { BootError } from "./chain/chain.service";
import { ConfigError, loadConfig } from "./config/app-config";
import { createApp } from "./app";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  // Close the database and chain connections on SIGTERM/SIGINT (the dev stack handles its own signals).
  app.enableShutdownHooks(["SIGTERM", "SIGINT"]);
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpServer().address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  console.log(JSON.stringify({ level: "log", message: "Listening", url: `http://${config.HOST}:${port}` }));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof BootError;
  // One line an operator can act on; a stack trace only for the unexpected.
  console.error(known ? `consentry: ${(error as Error).message}` : error);
  process.exit(1);
});
