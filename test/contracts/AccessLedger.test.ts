import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { Contract, ZeroHash, id, type ContractRunner, type ContractTransactionReceipt } from "ethers";
import { deployFixture, type Accounts, type ContractsFixture } from "./fixture";
import { writeGasFigures } from "./gas-report";
import { expectEvent, expectRevert, mined } from "./helpers";

const ADMIN_ROLE = ZeroHash;
const ANCHORER_ROLE = id("ANCHORER_ROLE");

/** Leaf fields of an access event as the tests encode them: sequence number and event hash. */
const LEAF_ENCODING = ["uint256", "bytes32"];
type AccessLeaf = [bigint, string];

/** Upper bounds on gasUsed, about 5% above the measured figures; a figure above its ceiling is a regression. */
const GAS_CEILINGS = {
  "anchor.first": 104_000,
  "anchor.subsequent": 86_000,
} as const;
type GasKey = keyof typeof GAS_CEILINGS;

/** Events `firstSeq..lastSeq`, each with a made-up event hash. */
function accessLeaves(firstSeq: bigint, lastSeq: bigint): AccessLeaf[] {
  const leaves: AccessLeaf[] = [];
  for (let seq = firstSeq; seq <= lastSeq; seq++) leaves.push([seq, id(`access event ${seq}`)]);
  return leaves;
}

function treeOf(leaves: AccessLeaf[]): StandardMerkleTree<AccessLeaf> {
  return StandardMerkleTree.of(leaves, LEAF_ENCODING);
}

describe("AccessLedger", () => {
  let fixture: ContractsFixture;
  let ledger: Contract;
  let accounts: Accounts;
  let snapshotId: string;
  const gasUsed: Partial<Record<GasKey, bigint>> = {};

  beforeAll(async () => {
    fixture = await deployFixture();
    ({ ledger, accounts } = fixture);
  });

  beforeEach(async () => {
    snapshotId = await fixture.chain.snapshot();
  });

  afterEach(async () => {
    await fixture.chain.revert(snapshotId);
  });

  afterAll(async () => {
    // Only a full run rewrites the report, so a filtered run (`-t`) cannot drop figures.
    if (Object.keys(GAS_CEILINGS).every((key) => gasUsed[key as GasKey] !== undefined)) {
      await writeGasFigures("AccessLedger", gasUsed as Record<GasKey, bigint>);
    }
  });

  function as(runner: ContractRunner): Contract {
    return ledger.connect(runner) as Contract;
  }

  function anchor(batchId: bigint, root: string, firstSeq: bigint, lastSeq: bigint): Promise<ContractTransactionReceipt> {
    return mined(as(accounts.anchorer).anchor(batchId, root, firstSeq, lastSeq));
  }

  /** Anchors batch 1 = events 1..10 and returns its tree. */
  async function anchorFirstBatch(): Promise<StandardMerkleTree<AccessLeaf>> {
    const tree = treeOf(accessLeaves(1n, 10n));
    await anchor(1n, tree.root, 1n, 10n);
    return tree;
  }

  it("reports version 1.0.0", async () => {
    expect(await ledger.version()).toBe("1.0.0");
  });

  it("starts with no batches and the next sequence number 1", async () => {
    expect(await ledger.batchCount()).toBe(0n);
    expect(await ledger.nextSeq()).toBe(1n);
  });

  it("gives the deployer's admin DEFAULT_ADMIN_ROLE and the anchorer ANCHORER_ROLE", async () => {
    expect(await ledger.hasRole(ADMIN_ROLE, accounts.admin.address)).toBe(true);
    expect(await ledger.hasRole(ANCHORER_ROLE, accounts.anchorer.address)).toBe(true);
    expect(await ledger.hasRole(ANCHORER_ROLE, accounts.relayer.address)).toBe(false);
  });

  describe("anchor", () => {
    it("stores the root, range, time and block of the batch and emits BatchAnchored", async () => {
      const tree = treeOf(accessLeaves(1n, 10n));
      const receipt = await anchor(1n, tree.root, 1n, 10n);
      const block = await fixture.chain.provider.getBlock(receipt.blockNumber);

      expectEvent(receipt, ledger, "BatchAnchored", [1n, tree.root, 1n, 10n]);
      const batch = await ledger.getBatch(1n);
      expect({
        root: batch.root,
        firstSeq: batch.firstSeq,
        lastSeq: batch.lastSeq,
        anchoredAt: batch.anchoredAt,
        blockNumber: batch.blockNumber,
      }).toEqual({
        root: tree.root,
        firstSeq: 1n,
        lastSeq: 10n,
        anchoredAt: BigInt(block!.timestamp),
        blockNumber: BigInt(receipt.blockNumber),
      });
    });

    it("advances batchCount and nextSeq with every batch", async () => {
      await anchorFirstBatch();
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([1n, 11n]);

      const second = treeOf(accessLeaves(11n, 11n));
      const receipt = await anchor(2n, second.root, 11n, 11n);
      expectEvent(receipt, ledger, "BatchAnchored", [2n, second.root, 11n, 11n]);
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([2n, 12n]);

      const third = treeOf(accessLeaves(12n, 40n));
      await anchor(3n, third.root, 12n, 40n);
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([3n, 41n]);
      expect((await ledger.getBatch(1n)).lastSeq).toBe(10n);
      expect((await ledger.getBatch(2n)).root).toBe(second.root);
      expect((await ledger.getBatch(3n)).firstSeq).toBe(12n);
    });

    it("accepts a batch from an anchorer added later by the admin", async () => {
      await mined(ledger.grantRole(ANCHORER_ROLE, accounts.relayer.address));
      const tree = treeOf(accessLeaves(1n, 2n));
      await mined(as(accounts.relayer).anchor(1n, tree.root, 1n, 2n));
      expect(await ledger.batchCount()).toBe(1n);
    });

    it("reverts when the caller lacks ANCHORER_ROLE", async () => {
      const tree = treeOf(accessLeaves(1n, 10n));
      for (const caller of [accounts.stranger, accounts.admin, accounts.relayer]) {
        await expectRevert(as(caller).anchor(1n, tree.root, 1n, 10n), ledger, "AccessControlUnauthorizedAccount", [
          caller.address,
          ANCHORER_ROLE,
        ]);
      }
    });

    it("reverts when the anchorer's role was revoked", async () => {
      await mined(ledger.revokeRole(ANCHORER_ROLE, accounts.anchorer.address));
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(as(accounts.anchorer).anchor(1n, tree.root, 1n, 10n), ledger, "AccessControlUnauthorizedAccount", [
        accounts.anchorer.address,
        ANCHORER_ROLE,
      ]);
    });

    it.each([
      ["batch id 0 comes first", 0n],
      ["the first batch skips id 1", 2n],
    ])("reverts when %s", async (_, batchId) => {
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(as(accounts.anchorer).anchor(batchId, tree.root, 1n, 10n), ledger, "BatchOutOfOrder", [
        1n,
        batchId,
      ]);
    });

    it.each([
      ["the batch id is anchored again", 1n],
      ["the batch id skips the next one", 3n],
    ])("reverts when %s", async (_, batchId) => {
      await anchorFirstBatch();
      const tree = treeOf(accessLeaves(11n, 20n));
      await expectRevert(as(accounts.anchorer).anchor(batchId, tree.root, 11n, 20n), ledger, "BatchOutOfOrder", [
        2n,
        batchId,
      ]);
    });

    it.each([
      ["the first batch starts at 0", 0n, 10n],
      ["the first batch starts after 1", 2n, 10n],
    ])("reverts when %s", async (_, firstSeq, lastSeq) => {
      const tree = treeOf(accessLeaves(1n, 10n));
      await expectRevert(
        as(accounts.anchorer).anchor(1n, tree.root, firstSeq, lastSeq),
        ledger,
        "RangeNotContiguous",
        [1n, firstSeq],
      );
    });

    it.each([
      ["the range leaves a gap", 12n, 20n],
      ["the range overlaps the previous batch", 10n, 20n],
      ["the range starts inside the previous batch", 5n, 20n],
      ["the range duplicates the previous batch", 1n, 10n],
    ])("reverts when %s", async (_, firstSeq, lastSeq) => {
      await anchorFirstBatch();
      const tree = treeOf(accessLeaves(firstSeq, lastSeq));
      await expectRevert(
        as(accounts.anchorer).anchor(2n, tree.root, firstSeq, lastSeq),
        ledger,
        "RangeNotContiguous",
        [11n, firstSeq],
      );
    });

    it.each([
      ["the range is reversed on the first batch", 1n, 1n, 0n],
      ["the range is reversed on a later batch", 2n, 11n, 10n],
    ])("reverts when %s", async (_, batchId, firstSeq, lastSeq) => {
      if (batchId === 2n) await anchorFirstBatch();
      await expectRevert(
        as(accounts.anchorer).anchor(batchId, id("some root"), firstSeq, lastSeq),
        ledger,
        "InvalidRange",
        [firstSeq, lastSeq],
      );
    });

    it("reverts when the root is zero", async () => {
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, 10n), ledger, "InvalidRoot");
    });

    it("checks the batch id, then contiguity, then the range, then the root", async () => {
      await expectRevert(as(accounts.anchorer).anchor(2n, ZeroHash, 5n, 1n), ledger, "BatchOutOfOrder", [1n, 2n]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 5n, 1n), ledger, "RangeNotContiguous", [1n, 5n]);
      await expectRevert(as(accounts.anchorer).anchor(1n, ZeroHash, 1n, 0n), ledger, "InvalidRange", [1n, 0n]);
    });

    it("leaves the ledger unchanged when a batch is rejected", async () => {
      await anchorFirstBatch();
      await expectRevert(as(accounts.anchorer).anchor(2n, ZeroHash, 11n, 20n), ledger, "InvalidRoot");
      expect([await ledger.batchCount(), await ledger.nextSeq()]).toEqual([1n, 11n]);
      await expectRevert(ledger.getBatch(2n), ledger, "BatchNotFound", [2n]);
    });
  });

  describe("getBatch", () => {
    it.each([
      ["batch 0", 0n],
      ["the next batch id", 2n],
      ["a far-off batch id", 1_000_000n],
    ])("reverts when asked for %s", async (_, batchId) => {
      await anchorFirstBatch();
      await expectRevert(ledger.getBatch(batchId), ledger, "BatchNotFound", [batchId]);
    });
  });

  describe("verifyLeaf", () => {
    it("is true for every leaf with its StandardMerkleTree proof", async () => {
      const tree = await anchorFirstBatch();
      for (const [index, leaf] of tree.entries()) {
        expect(await ledger.verifyLeaf(1n, tree.leafHash(leaf), tree.getProof(index))).toBe(true);
      }
    });

    it("is true for a single-event batch, whose root is the leaf and whose proof is empty", async () => {
      await anchorFirstBatch();
      const tree = treeOf(accessLeaves(11n, 11n));
      await anchor(2n, tree.root, 11n, 11n);
      const leaf = accessLeaves(11n, 11n)[0];
      expect(tree.root).toBe(tree.leafHash(leaf));
      expect(await ledger.verifyLeaf(2n, tree.leafHash(leaf), [])).toBe(true);
    });

    it("is false for a leaf that is not in the batch", async () => {
      const tree = await anchorFirstBatch();
      const forged: AccessLeaf = [3n, id("forged event")];
      expect(await ledger.verifyLeaf(1n, tree.leafHash(forged), tree.getProof(2))).toBe(false);
    });

    it("is false for a leaf with another leaf's proof", async () => {
      const tree = await anchorFirstBatch();
      const leaf = accessLeaves(3n, 3n)[0];
      expect(await ledger.verifyLeaf(1n, tree.leafHash(leaf), tree.getProof(3))).toBe(false);
    });

    it("is false for a tampered proof", async () => {
      const tree = await anchorFirstBatch();
      const proof = tree.getProof(0);
      proof[0] = id("tampered sibling");
      expect(await ledger.verifyLeaf(1n, tree.leafHash(tree.at(0)!), proof)).toBe(false);
    });

    it("is false for a truncated proof", async () => {
      const tree = await anchorFirstBatch();
      const proof = tree.getProof(0);
      expect(await ledger.verifyLeaf(1n, tree.leafHash(tree.at(0)!), proof.slice(0, -1))).toBe(false);
    });

    it("is false for a leaf and proof of another batch", async () => {
      const first = await anchorFirstBatch();
      const second = treeOf(accessLeaves(11n, 20n));
      await anchor(2n, second.root, 11n, 20n);
      expect(await ledger.verifyLeaf(2n, first.leafHash(first.at(0)!), first.getProof(0))).toBe(false);
      expect(await ledger.verifyLeaf(2n, second.leafHash(second.at(0)!), second.getProof(0))).toBe(true);
    });

    it("reverts when the batch does not exist", async () => {
      const tree = await anchorFirstBatch();
      await expectRevert(ledger.verifyLeaf(2n, tree.leafHash(tree.at(0)!), tree.getProof(0)), ledger, "BatchNotFound", [
        2n,
      ]);
    });
  });

  describe("gas", () => {
    const BATCH_EVENTS = 100n;

    function record(key: GasKey, receipt: ContractTransactionReceipt): void {
      gasUsed[key] = receipt.gasUsed;
      expect(receipt.gasUsed).toBeLessThan(BigInt(GAS_CEILINGS[key]));
    }

    it(`anchor of the first batch stays below ${GAS_CEILINGS["anchor.first"]}`, async () => {
      const tree = treeOf(accessLeaves(1n, BATCH_EVENTS));
      record("anchor.first", await anchor(1n, tree.root, 1n, BATCH_EVENTS));
    });

    it(`anchor of a subsequent batch stays below ${GAS_CEILINGS["anchor.subsequent"]}`, async () => {
      const first = treeOf(accessLeaves(1n, BATCH_EVENTS));
      await anchor(1n, first.root, 1n, BATCH_EVENTS);
      const second = treeOf(accessLeaves(BATCH_EVENTS + 1n, 2n * BATCH_EVENTS));
      record("anchor.subsequent", await anchor(2n, second.root, BATCH_EVENTS + 1n, 2n * BATCH_EVENTS));
    });
  });
});
