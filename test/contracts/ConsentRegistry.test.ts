import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AbiCoder,
  Contract,
  MaxUint256,
  Signature,
  TypedDataEncoder,
  Wallet,
  ZeroAddress,
  ZeroHash,
  concat,
  id,
  keccak256,
  toBeHex,
  type ContractRunner,
  type ContractTransactionReceipt,
  type JsonRpcSigner,
  type TypedDataDomain,
} from "ethers";
import {
  ALL_CATEGORIES,
  ALL_PURPOSES,
  CATEGORY_COUNT,
  DOMAIN_NAME,
  DOMAIN_VERSION,
  Decision,
  Effect,
  GRANT_TYPES,
  PURPOSE_COUNT,
  Purpose,
  REVOKE_TYPES,
  bits,
  grantDigest,
  registryDomain,
  revokeDigest,
  signGrant,
  signRevoke,
  type ConsentTerms,
} from "./consent";
import { deployErc1271Wallet, deployFixture, type Accounts, type ContractsFixture } from "./fixture";
import { writeGasFigures } from "./gas-report";
import { expectEvent, expectNoEvent, expectRevert, mined } from "./helpers";

const ADMIN_ROLE = ZeroHash;
const RELAYER_ROLE = id("RELAYER_ROLE");
const INSTITUTION_ROLE = id("INSTITUTION_ROLE");

/** Fixed times keep signatures, calldata and so the gas figures identical from run to run. */
const FAR_DEADLINE = 4_102_444_800n; // 2100-01-01T00:00:00Z
const FIXED_VALID_FROM = 1_767_225_600n; // 2026-01-01T00:00:00Z
const FIXED_VALID_UNTIL = 4_070_908_800n; // 2099-01-01T00:00:00Z

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const PANIC_ARITHMETIC_OVERFLOW = 0x11;

/**
 * Upper bounds on gasUsed, about 5% above the measured figures; a figure above its ceiling is a regression.
 * A patient's first consent writes six fresh storage slots (three for the consent, the id list's length and
 * element, the nonce) at 22,100 gas each, so it cannot get near 150,000; later consents reuse two of them.
 */
const GAS_CEILINGS = {
  grantBySig: 190_000,
  "grantBySig.subsequent": 154_000,
  grant: 177_000,
  revokeBySig: 51_000,
  revoke: 33_000,
} as const;
type GasKey = keyof typeof GAS_CEILINGS;

describe("ConsentRegistry", () => {
  let fixture: ContractsFixture;
  let registry: Contract;
  let accounts: Accounts;
  let domain: TypedDataDomain;
  let snapshotId: string;
  const gasUsed: Partial<Record<GasKey, bigint>> = {};

  beforeAll(async () => {
    fixture = await deployFixture();
    ({ registry, accounts } = fixture);
    domain = registryDomain(fixture.chainId, await registry.getAddress());
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
      await writeGasFigures("ConsentRegistry", gasUsed as Record<GasKey, bigint>);
    }
  });

  /** The registry as `runner` sees it. */
  function as(runner: ContractRunner): Contract {
    return registry.connect(runner) as Contract;
  }

  /** Default terms: a permit of categories 0–1 for treatment to institution A, open-ended. */
  function termsOf(patient: string, overrides: Partial<ConsentTerms> = {}): ConsentTerms {
    return {
      patient,
      grantee: accounts.institutionA.address,
      categories: bits(0, 1),
      purposes: Purpose.TREAT,
      effect: Effect.Permit,
      validFrom: 0n,
      validUntil: 0n,
      ...overrides,
    };
  }

  async function nonceOf(account: string): Promise<bigint> {
    return (await registry.nonces(account)) as bigint;
  }

  /** Grants `terms` directly as `signer` (the patient by default) and returns the new consent's id. */
  async function grantDirect(
    terms: ConsentTerms,
    signer: JsonRpcSigner = accounts.patient,
  ): Promise<{ consentId: string; receipt: ContractTransactionReceipt }> {
    const nonce = await nonceOf(terms.patient);
    const receipt = await mined(as(signer).grant(terms));
    return { consentId: (await registry.consentIdOf(terms, nonce)) as string, receipt };
  }

  /** Grants `terms` through the relayer with `signer`'s signature at the patient's current nonce. */
  async function grantSigned(
    terms: ConsentTerms,
    signer: Pick<JsonRpcSigner, "signTypedData"> = accounts.patient,
  ): Promise<{ consentId: string; nonce: bigint; receipt: ContractTransactionReceipt }> {
    const nonce = await nonceOf(terms.patient);
    const signature = await signGrant(signer, domain, terms, nonce, FAR_DEADLINE);
    const receipt = await mined(as(accounts.relayer).grantBySig(terms, nonce, FAR_DEADLINE, signature));
    return { consentId: (await registry.consentIdOf(terms, nonce)) as string, nonce, receipt };
  }

  async function blockTimeOf(receipt: ContractTransactionReceipt): Promise<bigint> {
    const block = await fixture.chain.provider.getBlock(receipt.blockNumber);
    return BigInt(block!.timestamp);
  }

  /** A timestamp safely ahead of the chain, for `setNextTimestamp`. */
  async function futureTime(secondsAhead = 100): Promise<bigint> {
    return BigInt((await fixture.chain.latestTimestamp()) + secondsAhead);
  }

  describe("EIP-712 domain and typehashes", () => {
    it("hard-codes the keccak256 of ethers' type encodings of Grant and Revoke", () => {
      const source = readFileSync(join(__dirname, "..", "..", "contracts", "ConsentRegistry.sol"), "utf8");
      const cases = [
        { constant: "GRANT_TYPEHASH", types: GRANT_TYPES, primary: "Grant" },
        { constant: "REVOKE_TYPEHASH", types: REVOKE_TYPES, primary: "Revoke" },
      ];
      for (const { constant, types, primary } of cases) {
        const match = source.match(
          new RegExp(`/// @dev keccak256\\("([^"]+)"\\)\\s+bytes32 private constant ${constant} = (0x[0-9a-fA-F]{64});`),
        );
        expect(match).not.toBeNull();
        const [, documentedType, hardCodedHash] = match!;
        const encodedType = TypedDataEncoder.from(types).encodeType(primary);
        expect(documentedType).toBe(encodedType);
        expect(hardCodedHash.toLowerCase()).toBe(id(encodedType));
      }
    });

    it("has the DOMAIN_SEPARATOR ethers computes for name, version, chainId and address", async () => {
      expect(await registry.DOMAIN_SEPARATOR()).toBe(TypedDataEncoder.hashDomain(domain));
    });

    it("describes its domain through EIP-5267 eip712Domain()", async () => {
      const [fields, name, version, chainId, verifyingContract, salt, extensions] = await registry.eip712Domain();
      expect({ fields, name, version, chainId, verifyingContract, salt, extensions: Array.from(extensions) }).toEqual({
        fields: "0x0f",
        name: DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chainId: fixture.chainId,
        verifyingContract: await registry.getAddress(),
        salt: ZeroHash,
        extensions: [],
      });
    });

    it("accepts a raw signature over the digest ethers computes, for Grant and Revoke", async () => {
      // The wallet hands the registry's digest to ECDSA as is, so acceptance proves digest equality.
      const owner = Wallet.createRandom();
      const wallet = await deployErc1271Wallet(accounts.admin, owner.address);
      const terms = termsOf(await wallet.getAddress());
      const grantSignature = owner.signingKey.sign(grantDigest(domain, terms, 0n, FAR_DEADLINE)).serialized;
      await mined(as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, grantSignature));
      const consentId = (await registry.consentIdOf(terms, 0n)) as string;
      const revokeSignature = owner.signingKey.sign(revokeDigest(domain, consentId, 1n, FAR_DEADLINE)).serialized;
      await mined(as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, revokeSignature));
      expect((await registry.getConsent(consentId)).revokedAt).not.toBe(0n);
    });

    it("reports version 1.0.0", async () => {
      expect(await registry.version()).toBe("1.0.0");
    });
  });

  describe("consentIdOf", () => {
    it("hashes the ABI-encoded terms and nonce", async () => {
      const terms = termsOf(accounts.patient.address, { validFrom: 5n, validUntil: 10n, effect: Effect.Deny });
      const expected = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["address", "address", "uint256", "uint256", "uint8", "uint64", "uint64", "uint256"],
          [
            terms.patient,
            terms.grantee,
            terms.categories,
            terms.purposes,
            terms.effect,
            terms.validFrom,
            terms.validUntil,
            7n,
          ],
        ),
      );
      expect(await registry.consentIdOf(terms, 7n)).toBe(expected);
    });
  });

  describe("grant", () => {
    it("stores the terms with grantedAt, consumes the nonce and emits ConsentGranted", async () => {
      const patient = accounts.patient.address;
      const terms = termsOf(patient, { validFrom: 10n, validUntil: FIXED_VALID_UNTIL });
      const { consentId, receipt } = await grantDirect(terms);

      expectEvent(receipt, registry, "ConsentGranted", [
        consentId,
        patient,
        terms.grantee,
        terms.categories,
        terms.purposes,
        terms.effect,
        terms.validFrom,
        terms.validUntil,
        0n,
      ]);
      expectNoEvent(receipt, registry, "ConsentRevoked");
      const consent = await registry.getConsent(consentId);
      expect({
        terms: Array.from(consent.terms),
        grantedAt: consent.grantedAt,
        revokedAt: consent.revokedAt,
      }).toEqual({
        terms: [patient, terms.grantee, terms.categories, terms.purposes, BigInt(terms.effect), 10n, FIXED_VALID_UNTIL],
        grantedAt: await blockTimeOf(receipt),
        revokedAt: 0n,
      });
      expect(await nonceOf(patient)).toBe(1n);
      expect(await registry.consentsOf(patient)).toEqual([consentId]);
    });

    it("returns the consent id", async () => {
      const terms = termsOf(accounts.patient.address);
      expect(await as(accounts.patient).grant.staticCall(terms)).toBe(await registry.consentIdOf(terms, 0n));
    });

    it("lists a patient's consents in grant order and keeps patients apart", async () => {
      const patient = accounts.patient.address;
      const first = await grantDirect(termsOf(patient));
      const second = await grantDirect(termsOf(patient));
      const other = await grantDirect(termsOf(accounts.otherPatient.address), accounts.otherPatient);
      expect(first.consentId).not.toBe(second.consentId);
      expect(await registry.consentsOf(patient)).toEqual([first.consentId, second.consentId]);
      expect(await registry.consentsOf(accounts.otherPatient.address)).toEqual([other.consentId]);
      expect(await registry.consentsOf(accounts.stranger.address)).toEqual([]);
    });

    it("accepts the wildcard grantee, all categories and all purposes", async () => {
      const terms = termsOf(accounts.patient.address, {
        grantee: ZeroAddress,
        categories: ALL_CATEGORIES,
        purposes: ALL_PURPOSES,
      });
      const { consentId } = await grantDirect(terms);
      expect((await registry.getConsent(consentId)).terms.grantee).toBe(ZeroAddress);
    });

    it("accepts a validUntil one second after the block time", async () => {
      const now = await futureTime();
      await fixture.chain.setNextTimestamp(Number(now));
      await grantDirect(termsOf(accounts.patient.address, { validUntil: now + 1n }));
    });

    it("reverts when the caller is not the patient", async () => {
      const terms = termsOf(accounts.patient.address);
      await expectRevert(as(accounts.stranger).grant(terms), registry, "NotPatient", [
        accounts.patient.address,
        accounts.stranger.address,
      ]);
    });

    it("reverts when the relayer grants directly for a patient", async () => {
      const terms = termsOf(accounts.patient.address);
      await expectRevert(as(accounts.relayer).grant(terms), registry, "NotPatient", [
        accounts.patient.address,
        accounts.relayer.address,
      ]);
    });

    it("reverts when the patient is the zero address", async () => {
      // Only reachable with msg.sender == address(0), i.e. through eth_call: no signature recovers to it.
      const terms = termsOf(ZeroAddress);
      await expectRevert(as(fixture.chain.provider).grant.staticCall(terms, { from: ZeroAddress }), registry, "InvalidPatient", [
        ZeroAddress,
      ]);
    });

    it.each([
      ["zero", 0n],
      ["the first unknown bit", 1n << BigInt(CATEGORY_COUNT)],
      ["known bits plus an unknown one", ALL_CATEGORIES | (1n << 31n)],
      ["the highest bit", 1n << 255n],
    ])("reverts when the categories are %s", async (_, categories) => {
      const terms = termsOf(accounts.patient.address, { categories });
      await expectRevert(as(accounts.patient).grant(terms), registry, "InvalidCategories", [categories]);
    });

    it.each([
      ["zero", 0n],
      ["the first unknown bit", 1n << BigInt(PURPOSE_COUNT)],
      ["known bits plus an unknown one", ALL_PURPOSES | (1n << 8n)],
      ["the highest bit", 1n << 255n],
    ])("reverts when the purposes are %s", async (_, purposes) => {
      const terms = termsOf(accounts.patient.address, { purposes });
      await expectRevert(as(accounts.patient).grant(terms), registry, "InvalidPurposes", [purposes]);
    });

    it.each([
      ["validUntil equals validFrom", FIXED_VALID_UNTIL, FIXED_VALID_UNTIL],
      ["validUntil is before validFrom", FIXED_VALID_UNTIL, FIXED_VALID_UNTIL - 1n],
    ])("reverts when %s", async (_, validFrom, validUntil) => {
      const terms = termsOf(accounts.patient.address, { validFrom, validUntil });
      await expectRevert(as(accounts.patient).grant(terms), registry, "InvalidValidity", [validFrom, validUntil]);
    });

    it("reverts when validUntil is in the past", async () => {
      const past = BigInt(await fixture.chain.latestTimestamp()) - 1n;
      const terms = termsOf(accounts.patient.address, { validUntil: past });
      await expectRevert(as(accounts.patient).grant(terms), registry, "InvalidValidity", [0n, past]);
    });

    it("reverts when validUntil is the block time", async () => {
      const now = await futureTime();
      await fixture.chain.setNextTimestamp(Number(now));
      const terms = termsOf(accounts.patient.address, { validUntil: now });
      await expectRevert(as(accounts.patient).grant(terms), registry, "InvalidValidity", [0n, now]);
    });

    it("reverts when the grantee is not an institution", async () => {
      const terms = termsOf(accounts.patient.address, { grantee: accounts.stranger.address });
      await expectRevert(as(accounts.patient).grant(terms), registry, "GranteeNotInstitution", [
        accounts.stranger.address,
      ]);
    });

    it("reverts when the grantee's institution role was revoked", async () => {
      await mined(registry.revokeRole(INSTITUTION_ROLE, accounts.institutionB.address));
      const terms = termsOf(accounts.patient.address, { grantee: accounts.institutionB.address });
      await expectRevert(as(accounts.patient).grant(terms), registry, "GranteeNotInstitution", [
        accounts.institutionB.address,
      ]);
    });

    it("reverts when getConsent is asked for an unknown id", async () => {
      const unknown = id("no such consent");
      await expectRevert(registry.getConsent(unknown), registry, "ConsentNotFound", [unknown]);
    });
  });

  describe("grantBySig", () => {
    it("stores the signed terms, consumes the signed nonce and emits ConsentGranted", async () => {
      const patient = accounts.patient.address;
      const terms = termsOf(patient, { effect: Effect.Deny, validFrom: 20n, validUntil: FIXED_VALID_UNTIL });
      const { consentId, nonce, receipt } = await grantSigned(terms);

      expect(nonce).toBe(0n);
      expectEvent(receipt, registry, "ConsentGranted", [
        consentId,
        patient,
        terms.grantee,
        terms.categories,
        terms.purposes,
        Effect.Deny,
        20n,
        FIXED_VALID_UNTIL,
        0n,
      ]);
      const consent = await registry.getConsent(consentId);
      expect(consent.terms.effect).toBe(BigInt(Effect.Deny));
      expect(consent.grantedAt).toBe(await blockTimeOf(receipt));
      expect(await nonceOf(patient)).toBe(1n);
      expect(await registry.consentsOf(patient)).toEqual([consentId]);
    });

    it("returns the consent id", async () => {
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      expect(await as(accounts.relayer).grantBySig.staticCall(terms, 0n, FAR_DEADLINE, signature)).toBe(
        await registry.consentIdOf(terms, 0n),
      );
    });

    it("accepts consecutive signatures at consecutive nonces", async () => {
      const patient = accounts.patient.address;
      const first = await grantSigned(termsOf(patient));
      const second = await grantSigned(termsOf(patient, { grantee: ZeroAddress }));
      expect([first.nonce, second.nonce]).toEqual([0n, 1n]);
      expect(await registry.consentsOf(patient)).toEqual([first.consentId, second.consentId]);
    });

    it("accepts a signature on its deadline", async () => {
      const now = await futureTime();
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, now);
      await fixture.chain.setNextTimestamp(Number(now));
      await mined(as(accounts.relayer).grantBySig(terms, 0n, now, signature));
    });

    it("reverts when the caller lacks RELAYER_ROLE", async () => {
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      for (const caller of [accounts.stranger, accounts.patient, accounts.admin]) {
        await expectRevert(
          as(caller).grantBySig(terms, 0n, FAR_DEADLINE, signature),
          registry,
          "AccessControlUnauthorizedAccount",
          [caller.address, RELAYER_ROLE],
        );
      }
    });

    it("reverts when the deadline has passed", async () => {
      const now = await futureTime();
      const deadline = now - 1n;
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, deadline);
      await fixture.chain.setNextTimestamp(Number(now));
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, deadline, signature),
        registry,
        "SignatureExpired",
        [deadline, now],
      );
    });

    describe("reverts with InvalidSignature", () => {
      type SignatureCase = [string, (terms: ConsentTerms) => Promise<string>];
      const cases: SignatureCase[] = [
        ["when someone other than the patient signs", (t) => signGrant(accounts.stranger, domain, t, 0n, FAR_DEADLINE)],
        ["when the grantee signs", (t) => signGrant(accounts.institutionA, domain, t, 0n, FAR_DEADLINE)],
        [
          "when the domain name is wrong",
          (t) => signGrant(accounts.patient, { ...domain, name: "Consentry" }, t, 0n, FAR_DEADLINE),
        ],
        [
          "when the domain version is wrong",
          (t) => signGrant(accounts.patient, { ...domain, version: "2" }, t, 0n, FAR_DEADLINE),
        ],
        [
          "when the chainId is wrong",
          (t) => signGrant(accounts.patient, { ...domain, chainId: 1n }, t, 0n, FAR_DEADLINE),
        ],
        [
          "when the verifying contract is wrong",
          (t) => signGrant(accounts.patient, { ...domain, verifyingContract: fixture.ledger.target as string }, t, 0n, FAR_DEADLINE),
        ],
        [
          "when the signed categories differ from the submitted ones",
          (t) => signGrant(accounts.patient, domain, { ...t, categories: ALL_CATEGORIES }, 0n, FAR_DEADLINE),
        ],
        [
          "when the signed grantee differs from the submitted one",
          (t) => signGrant(accounts.patient, domain, { ...t, grantee: ZeroAddress }, 0n, FAR_DEADLINE),
        ],
        [
          "when the signed effect differs from the submitted one",
          (t) => signGrant(accounts.patient, domain, { ...t, effect: Effect.Deny }, 0n, FAR_DEADLINE),
        ],
        [
          "when the signed deadline differs from the submitted one",
          (t) => signGrant(accounts.patient, domain, t, 0n, FAR_DEADLINE + 1n),
        ],
        [
          "when a Revoke signature is submitted as a Grant",
          () => signRevoke(accounts.patient, domain, id("any consent"), 0n, FAR_DEADLINE),
        ],
        ["when the signature is empty", async () => "0x"],
        ["when the signature is 65 zero bytes", async () => toBeHex(0, 65)],
        [
          "when the signature is in EIP-2098 compact form",
          async (t) => Signature.from(await signGrant(accounts.patient, domain, t, 0n, FAR_DEADLINE)).compactSerialized,
        ],
        [
          "when the signature has an invalid v",
          async (t) => {
            const signature = Signature.from(await signGrant(accounts.patient, domain, t, 0n, FAR_DEADLINE));
            return concat([signature.r, signature.s, "0x1d"]);
          },
        ],
        [
          "when the signature is the malleable high-s twin of a valid one",
          async (t) => {
            const signature = Signature.from(await signGrant(accounts.patient, domain, t, 0n, FAR_DEADLINE));
            const highS = toBeHex(SECP256K1_N - BigInt(signature.s), 32);
            return concat([signature.r, highS, signature.v === 27 ? "0x1c" : "0x1b"]);
          },
        ],
      ];

      it.each(cases)("%s", async (_, sign) => {
        const terms = termsOf(accounts.patient.address);
        const signature = await sign(terms);
        await expectRevert(
          as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
          registry,
          "InvalidSignature",
          [accounts.patient.address],
        );
        expect(await nonceOf(accounts.patient.address)).toBe(0n);
      });
    });

    it("reverts when the same signature is replayed", async () => {
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await mined(as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature));
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 1n],
      );
    });

    it("reverts when the nonce was cancelled with increaseNonce", async () => {
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await mined(as(accounts.patient).increaseNonce(5n));
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 5n],
      );
    });

    it("reverts when the nonce was used by a direct grant", async () => {
      const terms = termsOf(accounts.patient.address, { grantee: ZeroAddress });
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await grantDirect(termsOf(accounts.patient.address));
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 1n],
      );
    });

    it("reverts when the nonce is ahead of the patient's", async () => {
      const terms = termsOf(accounts.patient.address);
      const signature = await signGrant(accounts.patient, domain, terms, 1n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 1n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 0n],
      );
    });

    it("reverts when validly signed terms are invalid", async () => {
      const terms = termsOf(accounts.patient.address, { categories: 0n });
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidCategories",
        [0n],
      );
    });

    it("reverts when validly signed terms name a grantee that is not an institution", async () => {
      const terms = termsOf(accounts.patient.address, { grantee: accounts.stranger.address });
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "GranteeNotInstitution",
        [accounts.stranger.address],
      );
    });

    it("reverts when the patient is the zero address, as no signature recovers to it", async () => {
      const terms = termsOf(ZeroAddress);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [ZeroAddress],
      );
    });
  });

  describe("ERC-1271 patients", () => {
    let wallet: Contract;
    let walletAddress: string;
    let owner: JsonRpcSigner;

    beforeEach(async () => {
      owner = accounts.otherPatient;
      wallet = await deployErc1271Wallet(accounts.admin, owner.address);
      walletAddress = await wallet.getAddress();
    });

    it("grants with the wallet owner's signature", async () => {
      const terms = termsOf(walletAddress);
      const { consentId, receipt } = await grantSigned(terms, owner);
      expectEvent(receipt, registry, "ConsentGranted", [
        consentId,
        walletAddress,
        terms.grantee,
        terms.categories,
        terms.purposes,
        terms.effect,
        terms.validFrom,
        terms.validUntil,
        0n,
      ]);
      expect(await nonceOf(walletAddress)).toBe(1n);
      expect(await registry.consentsOf(walletAddress)).toEqual([consentId]);
    });

    it("revokes with the wallet owner's signature", async () => {
      const { consentId } = await grantSigned(termsOf(walletAddress), owner);
      const signature = await signRevoke(owner, domain, consentId, 1n, FAR_DEADLINE);
      const receipt = await mined(as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature));
      expectEvent(receipt, registry, "ConsentRevoked", [consentId, walletAddress, await blockTimeOf(receipt)]);
    });

    it("reverts when someone other than the owner signs for the wallet", async () => {
      const terms = termsOf(walletAddress);
      const signature = await signGrant(accounts.patient, domain, terms, 0n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [walletAddress],
      );
    });

    it("reverts when the owner signs for a different wallet", async () => {
      const otherWallet = await deployErc1271Wallet(accounts.admin, accounts.patient.address);
      const terms = termsOf(await otherWallet.getAddress());
      const signature = await signGrant(owner, domain, terms, 0n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [await otherWallet.getAddress()],
      );
    });

    it("reverts when the wallet is handed a malformed signature", async () => {
      const terms = termsOf(walletAddress);
      await expectRevert(
        as(accounts.relayer).grantBySig(terms, 0n, FAR_DEADLINE, "0x1234"),
        registry,
        "InvalidSignature",
        [walletAddress],
      );
    });
  });

  describe("revoke", () => {
    it("stamps revokedAt, keeps the consent and emits ConsentRevoked", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const receipt = await mined(as(accounts.patient).revoke(consentId));
      const revokedAt = await blockTimeOf(receipt);

      expectEvent(receipt, registry, "ConsentRevoked", [consentId, accounts.patient.address, revokedAt]);
      expectNoEvent(receipt, registry, "ConsentGranted");
      const consent = await registry.getConsent(consentId);
      expect(consent.revokedAt).toBe(revokedAt);
      expect(consent.terms.patient).toBe(accounts.patient.address);
      expect(await registry.consentsOf(accounts.patient.address)).toEqual([consentId]);
    });

    it("does not consume the patient's nonce", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      await mined(as(accounts.patient).revoke(consentId));
      expect(await nonceOf(accounts.patient.address)).toBe(1n);
    });

    it("reverts when the consent does not exist", async () => {
      const unknown = id("no such consent");
      await expectRevert(as(accounts.patient).revoke(unknown), registry, "ConsentNotFound", [unknown]);
    });

    it.each([
      ["a stranger", (a: Accounts) => a.stranger],
      ["the grantee", (a: Accounts) => a.institutionA],
      ["the admin", (a: Accounts) => a.admin],
      ["a relayer", (a: Accounts) => a.relayer],
    ])("reverts when %s revokes the patient's consent", async (_, pick) => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const caller = pick(accounts);
      await expectRevert(as(caller).revoke(consentId), registry, "NotConsentPatient", [consentId, caller.address]);
    });

    it("reverts when the consent is already revoked", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const receipt = await mined(as(accounts.patient).revoke(consentId));
      await expectRevert(as(accounts.patient).revoke(consentId), registry, "ConsentAlreadyRevoked", [
        consentId,
        await blockTimeOf(receipt),
      ]);
    });

    it("checks not found, then not the patient, then already revoked", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      await mined(as(accounts.patient).revoke(consentId));
      await expectRevert(as(accounts.stranger).revoke(consentId), registry, "NotConsentPatient", [
        consentId,
        accounts.stranger.address,
      ]);
    });
  });

  describe("revokeBySig", () => {
    async function signedRevoke(consentId: string, nonce: bigint, signer: JsonRpcSigner = accounts.patient) {
      return signRevoke(signer, domain, consentId, nonce, FAR_DEADLINE);
    }

    it("stamps revokedAt, consumes the nonce and emits ConsentRevoked", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signedRevoke(consentId, 1n);
      const receipt = await mined(as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature));
      const revokedAt = await blockTimeOf(receipt);

      expectEvent(receipt, registry, "ConsentRevoked", [consentId, accounts.patient.address, revokedAt]);
      expectNoEvent(receipt, registry, "NonceIncreased");
      expect((await registry.getConsent(consentId)).revokedAt).toBe(revokedAt);
      expect(await nonceOf(accounts.patient.address)).toBe(2n);
    });

    it("accepts a signature on its deadline", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const now = await futureTime();
      const signature = await signRevoke(accounts.patient, domain, consentId, 1n, now);
      await fixture.chain.setNextTimestamp(Number(now));
      await mined(as(accounts.relayer).revokeBySig(consentId, 1n, now, signature));
    });

    it("reverts when the caller lacks RELAYER_ROLE", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signedRevoke(consentId, 1n);
      for (const caller of [accounts.stranger, accounts.patient]) {
        await expectRevert(
          as(caller).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
          registry,
          "AccessControlUnauthorizedAccount",
          [caller.address, RELAYER_ROLE],
        );
      }
    });

    it("reverts when the deadline has passed", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const now = await futureTime();
      const signature = await signRevoke(accounts.patient, domain, consentId, 1n, now - 1n);
      await fixture.chain.setNextTimestamp(Number(now));
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, now - 1n, signature),
        registry,
        "SignatureExpired",
        [now - 1n, now],
      );
    });

    it("reverts when the consent does not exist", async () => {
      const unknown = id("no such consent");
      const signature = await signedRevoke(unknown, 0n);
      await expectRevert(
        as(accounts.relayer).revokeBySig(unknown, 0n, FAR_DEADLINE, signature),
        registry,
        "ConsentNotFound",
        [unknown],
      );
    });

    it.each([
      ["a stranger", (a: Accounts) => a.stranger],
      ["the grantee", (a: Accounts) => a.institutionA],
      ["the relayer", (a: Accounts) => a.relayer],
    ])("reverts when %s signs the revocation of the patient's consent", async (_, pick) => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signedRevoke(consentId, 1n, pick(accounts));
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [accounts.patient.address],
      );
    });

    it("reverts when the signature names another consent", async () => {
      const first = await grantDirect(termsOf(accounts.patient.address));
      const second = await grantDirect(termsOf(accounts.patient.address, { grantee: ZeroAddress }));
      const signature = await signedRevoke(first.consentId, 2n);
      await expectRevert(
        as(accounts.relayer).revokeBySig(second.consentId, 2n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [accounts.patient.address],
      );
    });

    it("reverts when the signature is for another chain", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signRevoke(accounts.patient, { ...domain, chainId: 1n }, consentId, 1n, FAR_DEADLINE);
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
        registry,
        "InvalidSignature",
        [accounts.patient.address],
      );
    });

    it("reverts when the signature is replayed", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signedRevoke(consentId, 1n);
      await mined(as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature));
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 2n],
      );
    });

    it("reverts when the nonce was cancelled with increaseNonce", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const signature = await signedRevoke(consentId, 1n);
      await mined(as(accounts.patient).increaseNonce(2n));
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, 2n],
      );
    });

    it("reverts when the consent was already revoked directly", async () => {
      const { consentId } = await grantDirect(termsOf(accounts.patient.address));
      const receipt = await mined(as(accounts.patient).revoke(consentId));
      const signature = await signedRevoke(consentId, 1n);
      await expectRevert(
        as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature),
        registry,
        "ConsentAlreadyRevoked",
        [consentId, await blockTimeOf(receipt)],
      );
    });
  });

  describe("increaseNonce", () => {
    it("moves the nonce forward and emits NonceIncreased", async () => {
      const receipt = await mined(as(accounts.patient).increaseNonce(5n));
      expectEvent(receipt, registry, "NonceIncreased", [accounts.patient.address, 0n, 5n]);
      expect(await nonceOf(accounts.patient.address)).toBe(5n);
    });

    it("lets the patient sign at the new nonce", async () => {
      await mined(as(accounts.patient).increaseNonce(5n));
      const { nonce, receipt } = await grantSigned(termsOf(accounts.patient.address));
      expect(nonce).toBe(5n);
      expectEvent(receipt, registry, "ConsentGranted", [
        await registry.consentIdOf(termsOf(accounts.patient.address), 5n),
        accounts.patient.address,
        accounts.institutionA.address,
        bits(0, 1),
        Purpose.TREAT,
        Effect.Permit,
        0n,
        0n,
        5n,
      ]);
      expect(await nonceOf(accounts.patient.address)).toBe(6n);
    });

    it("affects only the caller's nonce", async () => {
      await mined(as(accounts.patient).increaseNonce(5n));
      expect(await nonceOf(accounts.otherPatient.address)).toBe(0n);
    });

    it.each([
      ["equal to the current nonce", 3n],
      ["below the current nonce", 2n],
    ])("reverts when the new nonce is %s", async (_, newNonce) => {
      await mined(as(accounts.patient).increaseNonce(3n));
      await expectRevert(as(accounts.patient).increaseNonce(newNonce), registry, "InvalidNonceIncrease", [
        accounts.patient.address,
        3n,
        newNonce,
      ]);
    });

    it("reverts when the new nonce is zero for a fresh account", async () => {
      await expectRevert(as(accounts.patient).increaseNonce(0n), registry, "InvalidNonceIncrease", [
        accounts.patient.address,
        0n,
        0n,
      ]);
    });

    it("reverts instead of wrapping when the maximum nonce is used, so cancelled signatures stay cancelled", async () => {
      const cancelled = termsOf(accounts.patient.address, { grantee: ZeroAddress });
      const cancelledSignature = await signGrant(accounts.patient, domain, cancelled, 0n, FAR_DEADLINE);
      await mined(as(accounts.patient).increaseNonce(MaxUint256));

      await expectRevert(as(accounts.patient).grant(termsOf(accounts.patient.address)), registry, "Panic", [
        PANIC_ARITHMETIC_OVERFLOW,
      ]);
      expect(await nonceOf(accounts.patient.address)).toBe(MaxUint256);
      await expectRevert(
        as(accounts.relayer).grantBySig(cancelled, 0n, FAR_DEADLINE, cancelledSignature),
        registry,
        "InvalidAccountNonce",
        [accounts.patient.address, MaxUint256],
      );
    });
  });

  describe("roles", () => {
    it("gives the deployer's admin DEFAULT_ADMIN_ROLE", async () => {
      expect(await registry.hasRole(ADMIN_ROLE, accounts.admin.address)).toBe(true);
    });

    it("reverts when a non-admin grants INSTITUTION_ROLE", async () => {
      await expectRevert(
        as(accounts.relayer).grantRole(INSTITUTION_ROLE, accounts.stranger.address),
        registry,
        "AccessControlUnauthorizedAccount",
        [accounts.relayer.address, ADMIN_ROLE],
      );
    });
  });

  describe("decide", () => {
    type Party = "institutionA" | "institutionB" | "stranger";
    type DecisionName = keyof typeof Decision;

    /** A consent of the table; times are seconds after the scenario's start. */
    interface ConsentRow {
      grantee: Party | "any";
      effect?: Effect;
      categories?: bigint;
      purposes?: bigint;
      validFrom?: number;
      validUntil?: number;
      grantedAt: number;
      revokedAt?: number;
      patient?: "patient" | "otherPatient";
    }

    interface Scenario {
      consents: ConsentRow[];
      requester?: Party;
      categories?: bigint;
      purposes?: bigint;
      /** [at, expected decision, index of the deciding consent or null]. */
      checks: Array<[number, DecisionName, number | null]>;
    }

    const C = bits(0, 1);
    const P = Purpose.TREAT;
    const permit = (row: Omit<ConsentRow, "effect">): ConsentRow => ({ ...row, effect: Effect.Permit });
    const deny = (row: Omit<ConsentRow, "effect">): ConsentRow => ({ ...row, effect: Effect.Deny });

    const table: Array<[string, Scenario]> = [
      ["no consent decides NoConsent with a zero id", { consents: [], checks: [[100, "NoConsent", null]] }],
      [
        "a permit for exactly the requested categories and purposes decides Permit",
        { consents: [permit({ grantee: "institutionA", grantedAt: 0 })], checks: [[100, "Permit", 0]] },
      ],
      [
        "a permit covering more than requested decides Permit",
        {
          consents: [permit({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: P | Purpose.HPAYMT, grantedAt: 0 })],
          categories: bits(3, 11),
          purposes: Purpose.HPAYMT,
          checks: [[100, "Permit", 0]],
        },
      ],
      [
        "a permit missing one requested category bit does not decide",
        {
          consents: [permit({ grantee: "institutionA", categories: bits(0), grantedAt: 0 })],
          categories: bits(0, 1),
          checks: [[100, "NoConsent", null]],
        },
      ],
      [
        "a permit missing one requested purpose bit does not decide",
        {
          consents: [permit({ grantee: "institutionA", purposes: Purpose.TREAT, grantedAt: 0 })],
          purposes: Purpose.TREAT | Purpose.ETREAT,
          checks: [[100, "NoConsent", null]],
        },
      ],
      [
        "a specific grantee does not match another institution",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0 })],
          requester: "institutionB",
          checks: [[100, "NoConsent", null]],
        },
      ],
      [
        "a specific grantee does not match a non-institution",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0 })],
          requester: "stranger",
          checks: [[100, "NoConsent", null]],
        },
      ],
      [
        "a wildcard grantee matches institution A",
        { consents: [permit({ grantee: "any", grantedAt: 0 })], checks: [[100, "Permit", 0]] },
      ],
      [
        "a wildcard grantee matches institution B",
        { consents: [permit({ grantee: "any", grantedAt: 0 })], requester: "institutionB", checks: [[100, "Permit", 0]] },
      ],
      [
        "a wildcard grantee does not match a non-institution",
        { consents: [permit({ grantee: "any", grantedAt: 0 })], requester: "stranger", checks: [[100, "NoConsent", null]] },
      ],
      [
        "another patient's consent does not count",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0, patient: "otherPatient" })],
          checks: [[100, "NoConsent", null]],
        },
      ],
      [
        "a deny overrides an earlier permit",
        {
          consents: [
            permit({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, grantedAt: 0 }),
            deny({ grantee: "institutionA", grantedAt: 10 }),
          ],
          checks: [[100, "Deny", 1]],
        },
      ],
      [
        "a deny overrides a later permit",
        {
          consents: [deny({ grantee: "institutionA", grantedAt: 0 }), permit({ grantee: "institutionA", grantedAt: 10 })],
          checks: [[100, "Deny", 0]],
        },
      ],
      [
        "a deny decides without any permit",
        { consents: [deny({ grantee: "institutionA", grantedAt: 0 })], checks: [[100, "Deny", 0]] },
      ],
      [
        "a deny matches on one overlapping category and one overlapping purpose",
        {
          consents: [
            permit({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, grantedAt: 0 }),
            deny({ grantee: "institutionA", categories: bits(5, 7), purposes: Purpose.TREAT | Purpose.HRESCH, grantedAt: 10 }),
          ],
          categories: bits(0, 5),
          purposes: Purpose.TREAT | Purpose.HPAYMT,
          checks: [[100, "Deny", 1]],
        },
      ],
      [
        "a deny without category overlap leaves the permit",
        {
          consents: [
            permit({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, grantedAt: 0 }),
            deny({ grantee: "institutionA", categories: bits(5), purposes: ALL_PURPOSES, grantedAt: 10 }),
          ],
          checks: [[100, "Permit", 0]],
        },
      ],
      [
        "a deny without purpose overlap leaves the permit",
        {
          consents: [
            permit({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, grantedAt: 0 }),
            deny({ grantee: "institutionA", categories: ALL_CATEGORIES, purposes: Purpose.HRESCH, grantedAt: 10 }),
          ],
          checks: [[100, "Permit", 0]],
        },
      ],
      [
        "a wildcard deny overrides a specific permit",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0 }), deny({ grantee: "any", grantedAt: 10 })],
          checks: [[100, "Deny", 1]],
        },
      ],
      [
        "a deny for another institution leaves the requester's permit",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0 }), deny({ grantee: "institutionB", grantedAt: 10 })],
          checks: [[100, "Permit", 0]],
        },
      ],
      [
        "the earliest granted of two covering permits decides",
        {
          consents: [
            permit({ grantee: "any", categories: ALL_CATEGORIES, purposes: ALL_PURPOSES, grantedAt: 0 }),
            permit({ grantee: "institutionA", grantedAt: 10 }),
          ],
          checks: [[100, "Permit", 0]],
        },
      ],
      [
        "the earliest granted of two matching denies decides",
        {
          consents: [deny({ grantee: "institutionA", grantedAt: 0 }), deny({ grantee: "any", grantedAt: 10 })],
          checks: [[100, "Deny", 0]],
        },
      ],
      [
        "an earlier permit that does not cover the request leaves a later one to decide",
        {
          consents: [
            permit({ grantee: "institutionA", categories: bits(0), grantedAt: 0 }),
            permit({ grantee: "institutionA", categories: C, grantedAt: 10 }),
          ],
          checks: [[100, "Permit", 1]],
        },
      ],
      [
        "a permit is active from validFrom inclusive to validUntil exclusive",
        {
          consents: [permit({ grantee: "institutionA", validFrom: 50, validUntil: 80, grantedAt: 0 })],
          checks: [
            [49, "NoConsent", null],
            [50, "Permit", 0],
            [79, "Permit", 0],
            [80, "NoConsent", null],
          ],
        },
      ],
      [
        "a permit with validUntil zero never expires",
        {
          consents: [permit({ grantee: "institutionA", validFrom: 50, grantedAt: 0 })],
          checks: [
            [49, "NoConsent", null],
            [50, "Permit", 0],
            [2_000_000_000, "Permit", 0],
          ],
        },
      ],
      [
        "a permit is not active before it was granted, even if validFrom is earlier",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 10 })],
          checks: [
            [9, "NoConsent", null],
            [10, "Permit", 0],
          ],
        },
      ],
      [
        "a revoked permit is active before revokedAt and inactive at and after it",
        {
          consents: [permit({ grantee: "institutionA", grantedAt: 0, revokedAt: 30 })],
          checks: [
            [29, "Permit", 0],
            [30, "NoConsent", null],
            [31, "NoConsent", null],
          ],
        },
      ],
      [
        "a revoked deny stops overriding the permit at revokedAt",
        {
          consents: [
            permit({ grantee: "institutionA", grantedAt: 0 }),
            deny({ grantee: "institutionA", grantedAt: 10, revokedAt: 30 }),
          ],
          checks: [
            [9, "Permit", 0],
            [10, "Deny", 1],
            [29, "Deny", 1],
            [30, "Permit", 0],
          ],
        },
      ],
      [
        "an expired deny stops overriding the permit at validUntil",
        {
          consents: [
            permit({ grantee: "institutionA", grantedAt: 0 }),
            deny({ grantee: "institutionA", grantedAt: 10, validUntil: 40 }),
          ],
          checks: [
            [39, "Deny", 1],
            [40, "Permit", 0],
          ],
        },
      ],
      [
        "an expired earlier permit leaves a later one to decide",
        {
          consents: [
            permit({ grantee: "institutionA", grantedAt: 0, validUntil: 40 }),
            permit({ grantee: "any", grantedAt: 10 }),
          ],
          checks: [
            [5, "Permit", 0],
            [39, "Permit", 0],
            [40, "Permit", 1],
          ],
        },
      ],
      [
        "a revoked earlier permit leaves a later one to decide",
        {
          consents: [
            permit({ grantee: "institutionA", grantedAt: 0, revokedAt: 20 }),
            permit({ grantee: "institutionA", grantedAt: 10 }),
          ],
          checks: [
            [19, "Permit", 0],
            [20, "Permit", 1],
          ],
        },
      ],
    ];

    it.each(table)("%s", async (_, scenario) => {
      const start = await futureTime(1_000);
      const signers = { patient: accounts.patient, otherPatient: accounts.otherPatient };
      const consentIds: string[] = [];
      const actions = [
        ...scenario.consents.map((row, index) => ({ at: row.grantedAt, index, kind: "grant" as const })),
        ...scenario.consents.flatMap((row, index) =>
          row.revokedAt === undefined ? [] : [{ at: row.revokedAt, index, kind: "revoke" as const }],
        ),
      ].sort((a, b) => a.at - b.at);

      for (const action of actions) {
        const row = scenario.consents[action.index];
        const signer = signers[row.patient ?? "patient"];
        await fixture.chain.setNextTimestamp(Number(start) + action.at);
        if (action.kind === "grant") {
          const terms = termsOf(signer.address, {
            grantee: row.grantee === "any" ? ZeroAddress : accounts[row.grantee].address,
            categories: row.categories ?? C,
            purposes: row.purposes ?? P,
            effect: row.effect,
            validFrom: row.validFrom === undefined ? 0n : start + BigInt(row.validFrom),
            validUntil: row.validUntil === undefined ? 0n : start + BigInt(row.validUntil),
          });
          const { consentId, receipt } = await grantDirect(terms, signer);
          expect(await blockTimeOf(receipt)).toBe(start + BigInt(action.at));
          consentIds[action.index] = consentId;
        } else {
          await mined(as(signer).revoke(consentIds[action.index]));
        }
      }

      const requester = accounts[scenario.requester ?? "institutionA"].address;
      for (const [at, decision, index] of scenario.checks) {
        const [actualDecision, actualId] = await registry.decide(
          accounts.patient.address,
          requester,
          scenario.categories ?? C,
          scenario.purposes ?? P,
          start + BigInt(at),
        );
        expect({ at, decision: actualDecision, consentId: actualId }).toEqual({
          at,
          decision: Decision[decision],
          consentId: index === null ? ZeroHash : consentIds[index],
        });
      }
    });

    it.each([
      ["no category", 0n, P, "InvalidCategories", 0n],
      ["an unknown category bit", 1n << BigInt(CATEGORY_COUNT), P, "InvalidCategories", 1n << BigInt(CATEGORY_COUNT)],
      ["no purpose", C, 0n, "InvalidPurposes", 0n],
      ["an unknown purpose bit", C, 1n << 7n, "InvalidPurposes", 1n << 7n],
    ])("reverts when asked about %s", async (_, categories, purposes, error, arg) => {
      await expectRevert(
        registry.decide(accounts.patient.address, accounts.institutionA.address, categories, purposes, 1n),
        registry,
        error as string,
        [arg],
      );
    });

    it("stops matching a wildcard consent when the requester loses INSTITUTION_ROLE", async () => {
      const { consentId, receipt } = await grantDirect(termsOf(accounts.patient.address, { grantee: ZeroAddress }));
      const at = await blockTimeOf(receipt);
      const ask = () => registry.decide(accounts.patient.address, accounts.institutionB.address, bits(0), P, at);
      expect(Array.from(await ask())).toEqual([Decision.Permit, consentId]);
      await mined(registry.revokeRole(INSTITUTION_ROLE, accounts.institutionB.address));
      expect(Array.from(await ask())).toEqual([Decision.NoConsent, ZeroHash]);
    });
  });

  describe("gas", () => {
    const gasTerms = (patient: string): ConsentTerms =>
      termsOf(patient, {
        categories: bits(0, 1, 2, 3),
        purposes: Purpose.TREAT,
        validFrom: FIXED_VALID_FROM,
        validUntil: FIXED_VALID_UNTIL,
      });

    function record(key: GasKey, receipt: ContractTransactionReceipt): void {
      gasUsed[key] = receipt.gasUsed;
      expect(receipt.gasUsed).toBeLessThan(BigInt(GAS_CEILINGS[key]));
    }

    it(`grantBySig of a patient's first consent (permit, specific grantee) stays below ${GAS_CEILINGS.grantBySig}`, async () => {
      const { receipt } = await grantSigned(gasTerms(accounts.patient.address));
      record("grantBySig", receipt);
    });

    it(`grantBySig of a patient's second consent stays below ${GAS_CEILINGS["grantBySig.subsequent"]}`, async () => {
      await grantSigned(gasTerms(accounts.patient.address));
      const { receipt } = await grantSigned({ ...gasTerms(accounts.patient.address), grantee: accounts.institutionB.address });
      record("grantBySig.subsequent", receipt);
    });

    it(`grant of a patient's first consent stays below ${GAS_CEILINGS.grant}`, async () => {
      const { receipt } = await grantDirect(gasTerms(accounts.patient.address));
      record("grant", receipt);
    });

    it(`revokeBySig stays below ${GAS_CEILINGS.revokeBySig}`, async () => {
      const { consentId } = await grantSigned(gasTerms(accounts.patient.address));
      const signature = await signRevoke(accounts.patient, domain, consentId, 1n, FAR_DEADLINE);
      record("revokeBySig", await mined(as(accounts.relayer).revokeBySig(consentId, 1n, FAR_DEADLINE, signature)));
    });

    it(`revoke stays below ${GAS_CEILINGS.revoke}`, async () => {
      const { consentId } = await grantSigned(gasTerms(accounts.patient.address));
      record("revoke", await mined(as(accounts.patient).revoke(consentId)));
    });
  });
});
