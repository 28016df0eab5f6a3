import { Inject, Injectable } from "@nestjs/common";
import {
  Contract,
  type JsonRpcApiProvider,
  type TypedDataDomain,
  type TypedDataField,
  TypedDataEncoder,
  hashMessage,
  recoverAddress,
} from "ethers";
import { unavailable } from "../common/problem";
import { CHAIN_PROVIDER } from "./chain.tokens";

const ERC1271_MAGIC = "0x1626ba7e";
const ERC1271_ABI = ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"];

/**
 * Checks EIP-712 signatures the way the contract's SignatureChecker does: ECDSA recovery for
 * ordinary accounts, ERC-1271 `isValidSignature` for accounts with code (smart wallets).
 */
@Injectable()
export class SignatureVerifier {
  constructor(@Inject(CHAIN_PROVIDER) private readonly provider: JsonRpcApiProvider) {}

  async isValid(
    signer: string,
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
    signature: string,
  ): Promise<boolean> {
    return this.isValidDigest(signer, TypedDataEncoder.hash(domain, types, value), signature);
  }

  /** An EIP-191 `personal_sign` message (EIP-4361 sign-in), by an ordinary account or a smart wallet. */
  isValidMessage(signer: string, message: string, signature: string): Promise<boolean> {
    return this.isValidDigest(signer, hashMessage(message), signature);
  }

  private async isValidDigest(signer: string, digest: string, signature: string): Promise<boolean> {
    try {
      if (recoverAddress(digest, signature).toLowerCase() === signer.toLowerCase()) return true;
    } catch {
      // Not a well-formed ECDSA signature; it may still be a smart wallet's.
    }
    let code: string;
    try {
      code = await this.provider.getCode(signer);
    } catch {
      throw unavailable("chain-unavailable", "The chain could not be reached to check a smart wallet's signature; try again shortly");
    }
    if (code === "0x") return false;
    try {
      const wallet = new Contract(signer, ERC1271_ABI, this.provider);
      return (await wallet.isValidSignature(digest, signature)) === ERC1271_MAGIC;
    } catch {
      return false;
    }
  }
}
