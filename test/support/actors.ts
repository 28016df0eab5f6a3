import { Wallet, type TypedDataField } from "ethers";
import { demoAccount, type DemoRole } from "../../scripts/lib/demo-accounts";
import type { TestService } from "./service";

/** A demo account's wallet, as a wallet app would hold it. */
export const walletOf = (role: DemoRole, nth = 0) => new Wallet(demoAccount(role, nth).privateKey);

/** Signs in through the API (EIP-4361 challenge → personal_sign → token) and returns the bearer header. */
export async function signIn(service: TestService, wallet: Wallet): Promise<Record<string, string>> {
  const challenge = await service.request({ method: "POST", url: "/auth/challenge", payload: { address: wallet.address } });
  if (challenge.status !== 200) throw new Error(`challenge failed: ${challenge.text}`);
  const signature = await wallet.signMessage(challenge.body.message);
  const token = await service.request({ method: "POST", url: "/auth/token", payload: { message: challenge.body.message, signature } });
  if (token.status !== 200) throw new Error(`token failed: ${token.text}`);
  return { authorization: `Bearer ${token.body.accessToken}` };
}

/** The EIP-712 domain and types the service publishes, exactly as a wallet would fetch them. */
export async function signingInfo(service: TestService) {
  const res = await service.request({ method: "GET", url: "/.well-known/consentry" });
  const { domain, types } = res.body.eip712 as { domain: Record<string, unknown>; types: Record<string, TypedDataField[]> };
  const pick = (name: string) => ({ [name]: types[name] });
  return { domain, grantTypes: pick("Grant"), revokeTypes: pick("Revoke"), enrolmentTypes: pick("Enrolment") };
}
