import { Contract, type JsonRpcApiProvider, Wallet, ZeroAddress } from "ethers";
import { deployContracts } from "../../scripts/lib/deploy-contracts";
import { demoAccount } from "../../scripts/lib/demo-accounts";
import { loadArtifact } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";
import type { TestService } from "./service";
import { signIn, signingInfo, walletOf } from "./actors";

/** Deploys the contracts with the demo accounts' roles, as `npm start` does. */
export async function deployWithDemoRoles(admin: import("ethers").Signer): Promise<Deployment> {
  const { deployment } = await deployContracts(admin, "test", {
    relayers: [demoAccount("relayer").address],
    anchorers: [demoAccount("anchorer").address],
    institutions: [demoAccount("institution", 0).address, demoAccount("institution", 1).address],
    regulators: [demoAccount("regulator").address],
    // The admin registers too (tests grant and revoke roles with it); the service's registrar key is its own.
    registrars: [await admin.getAddress(), demoAccount("registrar").address],
  });
  return deployment;
}

export interface GrantTerms {
  patient: string;
  grantee: string;
  categories: number;
  purposes: number;
  effect: number;
  validFrom: number;
  validUntil: number;
}

/** Helpers a test uses to act like a patient's wallet and an institution's client. */
export function consentClient(service: TestService, provider: JsonRpcApiProvider, deployment: Deployment) {
  const registry = new Contract(deployment.contracts.ConsentRegistry.address, loadArtifact("ConsentRegistry").abi, provider);
  const now = () => Math.floor(Date.now() / 1000);

  return {
    registry,
    now,
    terms(patient: Wallet, overrides: Partial<GrantTerms> = {}): GrantTerms {
      return {
        patient: patient.address,
        grantee: demoAccount("institution", 0).address,
        categories: 1 << 3,
        purposes: 1,
        effect: 0,
        validFrom: 0,
        validUntil: 0,
        ...overrides,
      };
    },
    async nonceOf(address: string): Promise<string> {
      return ((await registry.nonces(address)) as bigint).toString();
    },
    async signGrant(patient: Wallet, terms: GrantTerms, nonce?: string, deadline = now() + 3600) {
      const info = await signingInfo(service);
      const n = nonce ?? (await this.nonceOf(patient.address));
      const signature = await patient.signTypedData(info.domain, info.grantTypes, { ...terms, nonce: n, deadline });
      return { terms, nonce: n, deadline, signature };
    },
    /** A revocation consumes no nonce (ConsentRegistry v2): the patient signs the consent id and a deadline. */
    async signRevoke(patient: Wallet, consentId: string, deadline = now() + 3600) {
      const info = await signingInfo(service);
      const signature = await patient.signTypedData(info.domain, info.revokeTypes, { consentId, deadline });
      return { deadline, signature };
    },
    async enrol(patient: Wallet, custodianHeaders: Record<string, string>, custodian = walletOf("institution", 0), identifiers = [{ system: "urn:oid:2.16.840.1.113883.19.5", value: `MRN-${patient.address.slice(2, 8)}` }]) {
      const info = await signingInfo(service);
      const { identifiersHash } = await import("../../service/patients/identifiers");
      const deadline = now() + 3600;
      const signature = await patient.signTypedData(info.domain, info.enrolmentTypes, {
        patient: patient.address,
        custodian: custodian.address,
        identifiersHash: identifiersHash(identifiers),
        deadline,
      });
      return service.request({
        method: "POST",
        url: "/patients/enrol",
        headers: custodianHeaders,
        payload: { patient: patient.address, identifiers, deadline, signature },
      });
    },
    signIn: (wallet: Wallet) => signIn(service, wallet),
    ZeroAddress,
  };
}
