import { Controller, Get, Inject } from "@nestjs/common";
import { ApiOkResponse, ApiTags } from "@nestjs/swagger";
import { Public } from "../auth/auth.decorators";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { ROLES } from "../domain/roles";
import { consentDomain, ENROLMENT_TYPES, GRANT_TYPES, REVOKE_TYPES } from "../domain/eip712";
import { CATEGORIES, CATEGORY_SYSTEM, PURPOSE_OF_USE_SYSTEM, PURPOSES } from "../domain/vocabulary";

/** Everything a wallet or client needs to sign consents for this deployment, without reading our code. */
@ApiTags("discovery")
@Public()
@Controller(".well-known/consentry")
export class WellKnownController {
  constructor(@Inject(DEPLOYMENT) private readonly deployment: Deployment) {}

  @Get()
  @ApiOkResponse({ description: "chainId, contracts, EIP-712 domain and types, category and purpose tables" })
  get() {
    const d = this.deployment;
    return {
      chainId: d.chainId,
      network: d.network,
      contracts: {
        ConsentRegistry: d.contracts.ConsentRegistry.address,
        AccessLedger: d.contracts.AccessLedger.address,
      },
      deploymentBlock: d.deploymentBlock,
      eip712: {
        domain: consentDomain(d),
        types: { ...GRANT_TYPES, ...REVOKE_TYPES, ...ENROLMENT_TYPES },
        primaryTypes: { grant: "Grant", revoke: "Revoke", enrolment: "Enrolment" },
        notes: {
          enrolment: "identifiersHash = keccak256(utf8(JSON.stringify(identifiers as [system, value] pairs sorted by system, then value)))",
          consentId: "keccak256(abi.encode(patient, grantee, categories, purposes, effect, validFrom, validUntil, nonce))",
          nonce: "ConsentRegistry.nonces(patient): every grant consumes one; revocations consume none",
        },
      },
      categories: { system: CATEGORY_SYSTEM, codes: CATEGORIES.map(({ bit, code, display, resources }) => ({ bit, mask: 1 << bit, code, display, resources })) },
      purposes: { system: PURPOSE_OF_USE_SYSTEM, codes: PURPOSES.map(({ bit, code, display }) => ({ bit, mask: 1 << bit, code, display })) },
      effects: { permit: 0, deny: 1 },
      roles: ROLES,
    };
  }
}
