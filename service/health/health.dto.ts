import { ApiProperty } from "@nestjs/swagger";

export class DependencyHealth {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ required: false }) error?: string;
  [detail: string]: unknown;
}

export class DeploymentSummary {
  @ApiProperty() network!: string;
  @ApiProperty() chainId!: number;
  @ApiProperty() deploymentBlock!: number;
  @ApiProperty() consentRegistry!: string;
  @ApiProperty() accessLedger!: string;
}

export class HealthReport {
  @ApiProperty({ enum: ["ok", "unavailable"] }) status!: "ok" | "unavailable";
  @ApiProperty({ type: DependencyHealth }) database!: DependencyHealth;
  @ApiProperty({ type: DependencyHealth }) chain!: DependencyHealth;
  @ApiProperty({ type: DependencyHealth, description: "Consent projection: last indexed block, chain head, time since caught up" })
  indexer!: DependencyHealth;
  @ApiProperty({ type: DependencyHealth, description: "Anchor backlog: unconfirmed batches and events not yet in a batch" })
  anchoring!: DependencyHealth;
  @ApiProperty({
    type: DependencyHealth,
    description: "The trail's self-check: on a mismatch, the first bad seq and why (leaf-mismatch, hash-link-broken, event-missing, head-mismatch, root-mismatch, chain-root-mismatch)",
  })
  trail!: DependencyHealth;
  @ApiProperty({ type: DeploymentSummary }) deployment!: DeploymentSummary;
}
