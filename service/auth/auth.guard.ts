import { type CanActivate, type ExecutionContext, Injectable } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { forbidden, unauthorized } from "../common/problem";
import type { Role } from "./actor";
import { PUBLIC_KEY, ROLES_KEY, type AuthenticatedRequest } from "./auth.decorators";
import { TokenService } from "./token.service";

/** Every route needs a valid bearer token unless marked @Public(); @Roles narrows who may call. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token) throw unauthorized("missing-token", "An Authorization: Bearer token is required");
    request.actor = this.tokens.verify(token);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles?.length && !roles.some((role) => request.actor!.roles.includes(role))) {
      throw forbidden("role-required", `This operation needs one of the roles: ${roles.join(", ")}`);
    }
    return true;
  }
}
