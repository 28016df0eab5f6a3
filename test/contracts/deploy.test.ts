import { Wallet } from "ethers";
import { contractAt, deployContracts } from "../../scripts/lib/deploy-contracts";
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
});
