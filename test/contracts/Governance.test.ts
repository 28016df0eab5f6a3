import { Contract, ZeroAddress, ZeroHash, id, type ContractRunner } from "ethers";
import { ADMIN_DELAY, deployFixture, type Accounts, type ContractsFixture } from "./fixture";
import { expectEvent, expectRevert, mined } from "./helpers";

const ADMIN_ROLE = ZeroHash;
const RELAYER_ROLE = id("RELAYER_ROLE");
const ANCHORER_ROLE = id("ANCHORER_ROLE");
const REGISTRAR_ROLE = id("REGISTRAR_ROLE");
const INSTITUTION_ROLE = id("INSTITUTION_ROLE");
const REGULATOR_ROLE = id("REGULATOR_ROLE");

/**
 * Who governs the two contracts: one admin per contract (OpenZeppelin's AccessControlDefaultAdminRules: a
 * two-step transfer after a delay, renouncing only through the same schedule), a registrar for institutions
 * and regulators, and keys that may not hold two duties at once.
 */
describe("Governance", () => {
  let fixture: ContractsFixture;
  let accounts: Accounts;
  let snapshotId: string;

  beforeAll(async () => {
    fixture = await deployFixture();
    ({ accounts } = fixture);
  });

  beforeEach(async () => {
    snapshotId = await fixture.chain.snapshot();
  });

  afterEach(async () => {
    await fixture.chain.revert(snapshotId);
  });

  function as(contract: Contract, runner: ContractRunner): Contract {
    return contract.connect(runner) as Contract;
  }

  async function now(): Promise<bigint> {
    return BigInt(await fixture.chain.latestTimestamp());
  }

  /** Moves the chain's clock to `at` with an empty block. */
  async function travelTo(at: bigint): Promise<void> {
    await fixture.chain.setNextTimestamp(Number(at));
    await fixture.chain.mine();
  }

  describe.each([
    ["ConsentRegistry", (f: ContractsFixture) => f.registry, RELAYER_ROLE],
    ["AccessLedger", (f: ContractsFixture) => f.ledger, ANCHORER_ROLE],
  ])("%s admin", (_, pick, operatorRole) => {
    let contract: Contract;
    const operatorOf = (a: Accounts) => (operatorRole === RELAYER_ROLE ? a.relayer : a.anchorer);

    beforeAll(() => {
      contract = pick(fixture);
    });

    it("is one account, with the deployment's transfer delay", async () => {
      expect(await contract.defaultAdmin()).toBe(accounts.admin.address);
      expect(await contract.owner()).toBe(accounts.admin.address);
      expect(await contract.defaultAdminDelay()).toBe(BigInt(ADMIN_DELAY));
      expect(await contract.pendingDefaultAdmin()).toEqual([ZeroAddress, 0n]);
    });

    it("reverts when DEFAULT_ADMIN_ROLE is granted or revoked directly, as a single-step transfer would", async () => {
      await expectRevert(contract.grantRole(ADMIN_ROLE, accounts.stranger.address), contract, "AccessControlEnforcedDefaultAdminRules");
      await expectRevert(contract.revokeRole(ADMIN_ROLE, accounts.admin.address), contract, "AccessControlEnforcedDefaultAdminRules");
    });

    it("transfers in two steps: scheduled by the admin, accepted by the new admin after the delay", async () => {
      const scheduled = await mined(contract.beginDefaultAdminTransfer(accounts.stranger.address));
      const acceptAt = (await now()) + BigInt(ADMIN_DELAY);
      expectEvent(scheduled, contract, "DefaultAdminTransferScheduled", [accounts.stranger.address, acceptAt]);
      expect(await contract.pendingDefaultAdmin()).toEqual([accounts.stranger.address, acceptAt]);

      await travelTo(acceptAt - 1n);
      await expectRevert(as(contract, accounts.stranger).acceptDefaultAdminTransfer(), contract, "AccessControlEnforcedDefaultAdminDelay", [
        acceptAt,
      ]);
      await fixture.chain.setNextTimestamp(Number(acceptAt) + 1);
      await mined(as(contract, accounts.stranger).acceptDefaultAdminTransfer());
      expect(await contract.defaultAdmin()).toBe(accounts.stranger.address);
      expect(await contract.hasRole(ADMIN_ROLE, accounts.admin.address)).toBe(false);
      await expectRevert(contract.beginDefaultAdminTransfer(accounts.admin.address), contract, "AccessControlUnauthorizedAccount", [
        accounts.admin.address,
        ADMIN_ROLE,
      ]);
    });

    it("reverts when anyone but the pending admin accepts", async () => {
      await mined(contract.beginDefaultAdminTransfer(accounts.stranger.address));
      await travelTo((await now()) + BigInt(ADMIN_DELAY) + 1n);
      for (const caller of [accounts.admin, accounts.otherPatient]) {
        await expectRevert(as(contract, caller).acceptDefaultAdminTransfer(), contract, "AccessControlInvalidDefaultAdmin", [caller.address]);
      }
    });

    it("lets the admin cancel a scheduled transfer", async () => {
      await mined(contract.beginDefaultAdminTransfer(accounts.stranger.address));
      await mined(contract.cancelDefaultAdminTransfer());
      await travelTo((await now()) + BigInt(ADMIN_DELAY) + 1n);
      await expectRevert(as(contract, accounts.stranger).acceptDefaultAdminTransfer(), contract, "AccessControlInvalidDefaultAdmin", [
        accounts.stranger.address,
      ]);
    });

    it("reverts when anyone but the admin schedules a transfer", async () => {
      await expectRevert(
        as(contract, accounts.stranger).beginDefaultAdminTransfer(accounts.stranger.address),
        contract,
        "AccessControlUnauthorizedAccount",
        [accounts.stranger.address, ADMIN_ROLE],
      );
    });

    it("reverts when the admin renounces without a transfer to the zero address scheduled and waited out", async () => {
      await expectRevert(contract.renounceRole(ADMIN_ROLE, accounts.admin.address), contract, "AccessControlEnforcedDefaultAdminDelay", [0n]);
      await mined(contract.beginDefaultAdminTransfer(ZeroAddress));
      const acceptAt = (await now()) + BigInt(ADMIN_DELAY);
      await expectRevert(contract.renounceRole(ADMIN_ROLE, accounts.admin.address), contract, "AccessControlEnforcedDefaultAdminDelay", [
        acceptAt,
      ]);
    });

    it("renounces after the delay, and the operators it appointed keep working", async () => {
      await mined(contract.beginDefaultAdminTransfer(ZeroAddress));
      await travelTo((await now()) + BigInt(ADMIN_DELAY) + 1n);
      await mined(contract.renounceRole(ADMIN_ROLE, accounts.admin.address));
      expect(await contract.defaultAdmin()).toBe(ZeroAddress);
      await expectRevert(contract.grantRole(operatorRole, accounts.stranger.address), contract, "AccessControlUnauthorizedAccount", [
        accounts.admin.address,
        ADMIN_ROLE,
      ]);
      expect(await contract.hasRole(operatorRole, operatorOf(accounts).address)).toBe(true);
    });

    it("changes its own delay only after a wait, so a lowered delay cannot be used at once", async () => {
      await mined(contract.changeDefaultAdminDelay(60n));
      const [newDelay, effectAt] = await contract.pendingDefaultAdminDelay();
      expect(newDelay).toBe(60n);
      expect(effectAt).toBeGreaterThan((await now()) + 60n);
      expect(await contract.defaultAdminDelay()).toBe(BigInt(ADMIN_DELAY));
    });

    it("administers the operator role", async () => {
      expect(await contract.getRoleAdmin(operatorRole)).toBe(ADMIN_ROLE);
      await mined(contract.grantRole(operatorRole, accounts.stranger.address));
      expect(await contract.hasRole(operatorRole, accounts.stranger.address)).toBe(true);
      await mined(contract.revokeRole(operatorRole, accounts.stranger.address));
      expect(await contract.hasRole(operatorRole, accounts.stranger.address)).toBe(false);
    });

    it("reverts with RoleConflict when the admin grants itself the operator role", async () => {
      await expectRevert(contract.grantRole(operatorRole, accounts.admin.address), contract, "RoleConflict", [
        accounts.admin.address,
        operatorRole,
        ADMIN_ROLE,
      ]);
    });

    it("reverts with RoleConflict when a transfer is scheduled to an operator", async () => {
      const operator = operatorOf(accounts).address;
      await expectRevert(contract.beginDefaultAdminTransfer(operator), contract, "RoleConflict", [operator, ADMIN_ROLE, operatorRole]);
    });

    it("reverts with RoleConflict when the pending admin became an operator before accepting", async () => {
      await mined(contract.beginDefaultAdminTransfer(accounts.stranger.address));
      await mined(contract.grantRole(operatorRole, accounts.stranger.address));
      await travelTo((await now()) + BigInt(ADMIN_DELAY) + 1n);
      await expectRevert(as(contract, accounts.stranger).acceptDefaultAdminTransfer(), contract, "RoleConflict", [
        accounts.stranger.address,
        ADMIN_ROLE,
        operatorRole,
      ]);
      expect(await contract.defaultAdmin()).toBe(accounts.admin.address);
    });

    it("accepts an operator as admin once its operator role is revoked", async () => {
      const operator = operatorOf(accounts);
      await mined(contract.revokeRole(operatorRole, operator.address));
      await mined(contract.beginDefaultAdminTransfer(operator.address));
      await travelTo((await now()) + BigInt(ADMIN_DELAY) + 1n);
      await mined(as(contract, operator).acceptDefaultAdminTransfer());
      expect(await contract.defaultAdmin()).toBe(operator.address);
    });

    it("has no function to change a role's admin", () => {
      expect(contract.interface.getFunction("setRoleAdmin")).toBeNull();
      expect(contract.interface.getFunction("_setRoleAdmin")).toBeNull();
    });
  });

  describe("ConsentRegistry registrar", () => {
    let registry: Contract;

    beforeAll(() => {
      registry = fixture.registry;
    });

    it("administers INSTITUTION_ROLE and REGULATOR_ROLE; the admin administers RELAYER_ROLE and REGISTRAR_ROLE", async () => {
      expect(await registry.getRoleAdmin(INSTITUTION_ROLE)).toBe(REGISTRAR_ROLE);
      expect(await registry.getRoleAdmin(REGULATOR_ROLE)).toBe(REGISTRAR_ROLE);
      expect(await registry.getRoleAdmin(RELAYER_ROLE)).toBe(ADMIN_ROLE);
      expect(await registry.getRoleAdmin(REGISTRAR_ROLE)).toBe(ADMIN_ROLE);
      expect(await registry.hasRole(REGISTRAR_ROLE, accounts.registrar.address)).toBe(true);
      expect(await registry.hasRole(REGISTRAR_ROLE, accounts.admin.address)).toBe(false);
    });

    it("registers and removes institutions and regulators", async () => {
      const registrar = as(registry, accounts.registrar);
      for (const role of [INSTITUTION_ROLE, REGULATOR_ROLE]) {
        const granted = await mined(registrar.grantRole(role, accounts.stranger.address));
        expectEvent(granted, registry, "RoleGranted", [role, accounts.stranger.address, accounts.registrar.address]);
        const revoked = await mined(registrar.revokeRole(role, accounts.stranger.address));
        expectEvent(revoked, registry, "RoleRevoked", [role, accounts.stranger.address, accounts.registrar.address]);
      }
    });

    it.each([
      ["the admin", (a: Accounts) => a.admin],
      ["the relayer", (a: Accounts) => a.relayer],
      ["an institution", (a: Accounts) => a.institutionA],
    ])("reverts when %s registers an institution or a regulator", async (_, pick) => {
      const caller = pick(accounts);
      for (const role of [INSTITUTION_ROLE, REGULATOR_ROLE]) {
        await expectRevert(as(registry, caller).grantRole(role, accounts.stranger.address), registry, "AccessControlUnauthorizedAccount", [
          caller.address,
          REGISTRAR_ROLE,
        ]);
      }
    });

    it("reverts when the registrar grants a relayer or another registrar", async () => {
      for (const role of [RELAYER_ROLE, REGISTRAR_ROLE]) {
        await expectRevert(
          as(registry, accounts.registrar).grantRole(role, accounts.stranger.address),
          registry,
          "AccessControlUnauthorizedAccount",
          [accounts.registrar.address, ADMIN_ROLE],
        );
      }
    });

    it("stops registering once the admin revokes its role", async () => {
      await mined(registry.revokeRole(REGISTRAR_ROLE, accounts.registrar.address));
      await expectRevert(
        as(registry, accounts.registrar).grantRole(INSTITUTION_ROLE, accounts.stranger.address),
        registry,
        "AccessControlUnauthorizedAccount",
        [accounts.registrar.address, REGISTRAR_ROLE],
      );
    });

    it("may be the admin itself, as in development; the admin then registers in its registrar capacity", async () => {
      await mined(registry.grantRole(REGISTRAR_ROLE, accounts.admin.address));
      await mined(registry.grantRole(INSTITUTION_ROLE, accounts.stranger.address));
      expect(await registry.hasRole(INSTITUTION_ROLE, accounts.stranger.address)).toBe(true);
    });

    it("reverts with RoleConflict when a registrar is made relayer or a relayer registrar", async () => {
      await expectRevert(registry.grantRole(RELAYER_ROLE, accounts.registrar.address), registry, "RoleConflict", [
        accounts.registrar.address,
        RELAYER_ROLE,
        REGISTRAR_ROLE,
      ]);
      await expectRevert(registry.grantRole(REGISTRAR_ROLE, accounts.relayer.address), registry, "RoleConflict", [
        accounts.relayer.address,
        REGISTRAR_ROLE,
        RELAYER_ROLE,
      ]);
    });

    it("keeps every decision about the past when an institution is removed: its membership has an end, not an erasure", async () => {
      const registrar = as(registry, accounts.registrar);
      const history = async () => ((await registry.institutionHistory(accounts.institutionA.address)) as Array<[bigint, boolean]>).map((c) => [c[0], c[1]]);
      const before = await history();
      const receipt = await mined(registrar.revokeRole(INSTITUTION_ROLE, accounts.institutionA.address));
      const block = await fixture.chain.provider.getBlock(receipt.blockNumber);
      expect(await history()).toEqual([...before, [BigInt(block!.timestamp), false]]);
    });
  });
});
