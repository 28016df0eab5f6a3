import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { Wallet } from "ethers";

/** A request to the service through Fastify's inject: no socket, for seeding and in-process measurements. */
export async function call(app: NestFastifyApplication, method: string, url: string, headers: Record<string, string>, payload?: unknown) {
  const res = await app.getHttpAdapter().getInstance().inject({ method: method as "GET", url, headers, payload: payload as object });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
}

/** Signs in as `wallet` (EIP-4361 challenge → personal_sign → token); the bearer header to send. */
export async function signIn(app: NestFastifyApplication, wallet: Wallet): Promise<Record<string, string>> {
  const challenge = await call(app, "POST", "/auth/challenge", {}, { address: wallet.address });
  const token = await call(app, "POST", "/auth/token", {}, { message: challenge.body.message, signature: await wallet.signMessage(challenge.body.message) });
  return { authorization: `Bearer ${token.body.accessToken}` };
}
