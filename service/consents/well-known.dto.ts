import { ApiProperty, ApiPropertyOptional } from "@nestjs/swagger";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

class TypedDataFieldDto {
  @ApiProperty({ example: "patient" }) name!: string;
  @ApiProperty({ example: "address" }) type!: string;
}

class Eip712DomainDto {
  @ApiProperty({ example: "Consentry ConsentRegistry" }) name!: string;
  @ApiProperty({ example: "2" }) version!: string;
  @ApiProperty({ example: 31337 }) chainId!: number;
  @ApiProperty({ example: REGISTRY }) verifyingContract!: string;
}

class SigningPayloadDto {
  @ApiProperty({
    description: "EIP712Domain and the primary type's fields",
    type: "object",
    additionalProperties: { type: "array", items: { $ref: "#/components/schemas/TypedDataFieldDto" } },
    example: { EIP712Domain: [{ name: "name", type: "string" }], Revoke: [{ name: "consentId", type: "bytes32" }] },
  })
  types!: Record<string, TypedDataFieldDto[]>;

  @ApiProperty({ example: "Revoke" }) primaryType!: string;
  @ApiProperty({ type: Eip712DomainDto }) domain!: Eip712DomainDto;

  @ApiProperty({
    description: "The message with a {placeholder} for each value to fill in",
    type: "object",
    additionalProperties: { type: "string" },
    example: { consentId: "{consentId: the consent's id (GET /consents)}", deadline: "{deadline: unix seconds after which the signature is void}" },
  })
  message!: Record<string, string>;
}

class SigningPayloadsDto {
  @ApiProperty({ type: SigningPayloadDto, description: "A consent grant (relayed with POST /consents)" }) grant!: SigningPayloadDto;
  @ApiProperty({ type: SigningPayloadDto, description: "A revocation (relayed with POST /consents/{id}/revoke)" }) revoke!: SigningPayloadDto;
  @ApiProperty({ type: SigningPayloadDto, description: "An enrolment with a custodian (sent by it with POST /patients/enrol)" }) enrolment!: SigningPayloadDto;
}

class Eip712Dto {
  @ApiProperty({ type: Eip712DomainDto }) domain!: Eip712DomainDto;

  @ApiProperty({
    description: "EIP712Domain, Grant, Revoke and Enrolment",
    type: "object",
    additionalProperties: { type: "array", items: { $ref: "#/components/schemas/TypedDataFieldDto" } },
    example: { Revoke: [{ name: "consentId", type: "bytes32" }, { name: "deadline", type: "uint256" }] },
  })
  types!: Record<string, TypedDataFieldDto[]>;

  @ApiProperty({ type: "object", additionalProperties: { type: "string" }, example: { grant: "Grant", revoke: "Revoke", enrolment: "Enrolment" } })
  primaryTypes!: Record<string, string>;

  @ApiProperty({ type: SigningPayloadsDto, description: "Ready-to-sign eth_signTypedData_v4 payloads with placeholders" })
  payloads!: SigningPayloadsDto;

  @ApiProperty({ type: "object", additionalProperties: { type: "string" }, example: { nonce: "ConsentRegistry.nonces(patient): every grant consumes one" } })
  notes!: Record<string, string>;
}

class CategoryCodeDto {
  @ApiProperty({ example: 2 }) bit!: number;
  @ApiProperty({ example: 4 }) mask!: number;
  @ApiProperty({ example: "conditions" }) code!: string;
  @ApiProperty({ example: "Conditions" }) display!: string;
  @ApiPropertyOptional({ type: [String], example: ["Condition"] }) resources?: string[];
}

class CodeTableDto {
  @ApiProperty({ example: "urn:consentry:category" }) system!: string;
  @ApiProperty({ type: [CategoryCodeDto] }) codes!: CategoryCodeDto[];
}

class ContractsDto {
  @ApiProperty({ example: REGISTRY }) ConsentRegistry!: string;
  @ApiProperty({ example: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" }) AccessLedger!: string;
}

class EffectsDto {
  @ApiProperty({ example: 0 }) permit!: number;
  @ApiProperty({ example: 1 }) deny!: number;
}

export class DiscoveryDto {
  @ApiProperty({ example: 31337 }) chainId!: number;
  @ApiProperty({ example: "dev" }) network!: string;
  @ApiProperty({ type: ContractsDto }) contracts!: ContractsDto;
  @ApiProperty({ example: 1 }) deploymentBlock!: number;
  @ApiProperty({ type: Eip712Dto }) eip712!: Eip712Dto;
  @ApiProperty({ type: CodeTableDto, description: "Data categories: bit → code and the FHIR resources it covers" }) categories!: CodeTableDto;
  @ApiProperty({ type: CodeTableDto, description: "HL7 v3 PurposeOfUse codes" }) purposes!: CodeTableDto;
  @ApiProperty({ type: EffectsDto }) effects!: EffectsDto;
  @ApiProperty({ type: "object", additionalProperties: { type: "string" }, description: "On-chain role hashes by name", example: { institution: "0x…" } })
  roles!: Record<string, string>;
}

export { TypedDataFieldDto };
