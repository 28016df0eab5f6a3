import { Controller, Get, Res } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiResponse, ApiServiceUnavailableResponse, ApiTags } from "@nestjs/swagger";
import { PROBLEM_JSON, problemExample, SCHEMA } from "../common/openapi";
import type { FastifyReply } from "fastify";
import { Public } from "../auth/auth.decorators";
import { HealthReport } from "./health.dto";
import { HealthService } from "./health.service";

@ApiTags("operations")
@Public()
@Controller("health")
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({
    summary: "Check the service's health",
    description:
      "The database, the chain, the consent indexer's freshness, the anchoring backlog and the trail's self-check. 200 when all are fine, 503 (same body) when one is not. Not rate limited.",
  })
  @ApiOkResponse({ type: HealthReport, description: "Every dependency answers" })
  @ApiResponse({
    status: "4XX",
    description: "A request the HTTP edge refuses before routing: a malformed URL (400), one that does not arrive in full within 30 s (408), an overlong path segment (414), oversized headers (431)",
    content: { [PROBLEM_JSON]: { schema: { $ref: SCHEMA.problem }, example: problemExample(408, "request-timeout", "The request took too long to arrive") } },
  })
  @ApiServiceUnavailableResponse({ type: HealthReport, description: "A dependency is down" })
  async get(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.report();
    if (report.status !== "ok") reply.status(503);
    return report;
  }
}
