import { createParamDecorator, type ExecutionContext } from "@nestjs/common";
import type { FastifyRequest } from "fastify";
import type { RequestFacts } from "./access-log.service";

/** The request as the access log hashes it: method, path, query and body. */
export const Facts = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestFacts => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  return {
    method: request.method,
    path: (request.url ?? "").split("?")[0],
    query: (request.query ?? {}) as Record<string, unknown>,
    body: request.body,
  };
});
