import { Controller, Get, Res } from "@nestjs/common";
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from "@nestjs/swagger";
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
  @ApiOkResponse({ type: HealthReport, description: "Every dependency answers" })
  @ApiServiceUnavailableResponse({ type: HealthReport, description: "A dependency is down" })
  async get(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.health.report();
    if (report.status !== "ok") reply.status(503);
    return report;
  }
}
