import { Wallet, ZeroHash } from "ethers";
import { DEFAULT_ADMIN_DELAY_SECONDS, REGISTRAR_ROLE, contractAt, deployContracts } from "../../scripts/lib/deploy-contracts";
import { ROLES } from "../../service/domain/roles";
import { inProcessChain, type InProcessChain } from "../support/chain";

describe("deployContracts", () => {
  let chain: InProcessChain;

  beforeAll(async () => {
    chain = await inProcessChain();
  });

  it("deploys both contracts and records chainId, addresses, deployment block and ABI hashes", async () => {
    const { deployment, reused } = await deployContracts(chain.signers[0], "t");
    expect(reused).toBe(false);
    expect(deployment).toMatchObject({ network: "t", chainId: 31337 });
    expect(deployment.deploymentBlock).toBeGreaterThan(0);
    for (const c of Object.values(deployment.contracts)) {
      expect(await chain.provider.getCode(c.address)).not.toBe("0x");
      expect(c.abiHash).toMatch(/^0x[0-9a-f]{64}$/);
    }
  });

  it("reuses contracts already on the chain and only grants the roles that are missing", async () => {
    const relayer = Wallet.createRandom().address;
    const first = await deployContracts(chain.signers[0], "t", { relayers: [relayer] });
    const blockBefore = await chain.provider.getBlockNumber();
    const again = await deployContracts(chain.signers[0], "t", { relayers: [relayer] }, first.deployment);
    expect(again.reused).toBe(true);
    expect(again.deployment.contracts).toEqual(first.deployment.contracts);
    expect(await chain.provider.getBlockNumber()).toBe(blockBefore); // nothing sent: the role was already held

    const institution = Wallet.createRandom().address;
    await deployContracts(chain.signers[0], "t", { institutions: [institution] }, first.deployment);
    expect(await contractAt(first.deployment, "ConsentRegistry", chain.provider).hasRole(ROLES.institution, institution)).toBe(true);
  });

  it("deploys afresh when the recorded contracts are not on this chain", async () => {
    const first = await deployContracts(chain.signers[0], "t");
    const stale = { ...first.deployment, contracts: { ...first.deployment.contracts, AccessLedger: { ...first.deployment.contracts.AccessLedger, address: Wallet.createRandom().address } } };
    const again = await deployContracts(chain.signers[0], "t", {}, stale);
    expect(again.reused).toBe(false);
    expect(again.deployment.contracts.AccessLedger.address).not.toBe(stale.contracts.AccessLedger.address);
  });

  it("makes the deployer the admin of both contracts, with a two-day transfer delay, and by default the registrar", async () => {
    const { deployment } = await deployContracts(chain.signers[0], "t");
    const registry = contractAt(deployment, "ConsentRegistry", chain.provider);
    for (const name of ["ConsentRegistry", "AccessLedger"] as const) {
      const contract = contractAt(deployment, name, chain.provider);
      expect(await contract.defaultAdmin()).toBe(chain.signers[0].address);
      expect(await contract.defaultAdminDelay()).toBe(BigInt(DEFAULT_ADMIN_DELAY_SECONDS));
      expect(await contract.hasRole(ZeroHash, chain.signers[0].address)).toBe(true);
    }
    expect(await registry.hasRole(REGISTRAR_ROLE, chain.signers[0].address)).toBe(true);
  });

  it("registers institutions with a distinct registrar and schedules the hand-over to a new admin", async () => {
    const [deployer, registrar, institution, newAdmin] = [chain.signers[0], chain.signers[1], chain.signers[2], chain.signers[3]];
    const { deployment } = await deployContracts(
      deployer,
      "t",
      { registrars: [registrar.address], institutions: [institution.address] },
      undefined,
      { registrar, adminDelaySeconds: 60, newAdmin: newAdmin.address },
    );
    const registry = contractAt(deployment, "ConsentRegistry", chain.provider);
    expect(await registry.hasRole(REGISTRAR_ROLE, deployer.address)).toBe(false);
    expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).toBe(true);
    expect(await registry.hasRole(ROLES.institution, institution.address)).toBe(true);
    for (const name of ["ConsentRegistry", "AccessLedger"] as const) {
      const [pending] = await contractAt(deployment, name, chain.provider).pendingDefaultAdmin();
      expect(pending).toBe(newAdmin.address);
    }
  });

  it("refuses to register institutions without a signer holding REGISTRAR_ROLE", async () => {
    const registrar = Wallet.createRandom().address;
    await expect(
      deployContracts(chain.signers[0], "t", { registrars: [registrar], institutions: [Wallet.createRandom().address] }),
    ).rejects.toThrow(/lacks REGISTRAR_ROLE/);
  });
});
