import { Controller, Get, Inject } from "@nestjs/common";
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { Public } from "../auth/auth.decorators";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { ROLES } from "../domain/roles";
import { consentDomain, EIP712_DOMAIN_TYPE, ENROLMENT_TYPES, GRANT_TYPES, REVOKE_TYPES } from "../domain/eip712";
import { CATEGORIES, CATEGORY_SYSTEM, PURPOSE_OF_USE_SYSTEM, PURPOSES } from "../domain/vocabulary";
import { SIGNING_NOTES, signingTemplates } from "./signing-templates";
import { DiscoveryDto, TypedDataFieldDto } from "./well-known.dto";

/** Everything a wallet or client needs to sign consents for this deployment, without reading our code. */
@ApiTags("discovery")
@ApiExtraModels(TypedDataFieldDto)
@Public()
@Controller(".well-known/consentry")
export class WellKnownController {
  constructor(@Inject(DEPLOYMENT) private readonly deployment: Deployment) {}

  @Get()
  @ApiOperation({
    summary: "Discover the deployment and how to sign",
    description:
      "The chain id and contracts; the EIP-712 domain and types (EIP712Domain included); ready-to-sign eth_signTypedData_v4 payload templates for a grant, a revocation and an enrolment; the category and purpose tables the bitmasks use; the on-chain role hashes.",
  })
  @ApiOkResponse({ type: DiscoveryDto })
  get() {
    const d = this.deployment;
    const domain = consentDomain(d);
    return {
      chainId: d.chainId,
      network: d.network,
      contracts: {
        ConsentRegistry: d.contracts.ConsentRegistry.address,
        AccessLedger: d.contracts.AccessLedger.address,
      },
      deploymentBlock: d.deploymentBlock,
      eip712: {
        domain,
        types: { ...EIP712_DOMAIN_TYPE, ...GRANT_TYPES, ...REVOKE_TYPES, ...ENROLMENT_TYPES },
        primaryTypes: { grant: "Grant", revoke: "Revoke", enrolment: "Enrolment" },
        payloads: signingTemplates(domain),
        notes: SIGNING_NOTES,
      },
      categories: { system: CATEGORY_SYSTEM, codes: CATEGORIES.map(({ bit, code, display, resources }) => ({ bit, mask: 1 << bit, code, display, resources: [...resources] })) },
      purposes: { system: PURPOSE_OF_USE_SYSTEM, codes: PURPOSES.map(({ bit, code, display }) => ({ bit, mask: 1 << bit, code, display })) },
      effects: { permit: 0, deny: 1 },
      roles: ROLES,
    };
  }
}
