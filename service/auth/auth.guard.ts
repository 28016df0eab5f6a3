import { type CanActivate, type ExecutionContext, Injectable } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { forbidden, unauthorized } from "../common/problem";
import type { Role } from "./actor";
import { PUBLIC_KEY, ROLES_KEY, type AuthenticatedRequest } from "./auth.decorators";
import { AuthorityService } from "./authority.service";
import { TokenService } from "./token.service";

/**
 * Every route needs a valid bearer token unless marked @Public(). The token says who the caller is; the
 * roles it may act in are read from the projection at the request's indexed block, so a role revoked on
 * chain stops the caller within one indexer poll. @Roles narrows who may call.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly authority: AuthorityService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized("missing-token", "An Authorization: Bearer token is required");
    const { address } = this.tokens.verify(token);
    request.actor = { address, roles: await this.authority.rolesAtRequest(address) };
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles?.length && !roles.some((role) => this.authority.actorHolds(request.actor!, role))) {
      throw forbidden("role-required", `This operation needs one of the roles: ${roles.join(", ")}`);
    }
    return true;
  }
}

/** The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header && /^bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
