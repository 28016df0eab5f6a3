import { Module } from "@nestjs/common";
import { APP_GUARD } from "@nestjs/core";
import { TypeOrmModule } from "@nestjs/typeorm";
import { PatientsModule } from "../patients/patients.module";
import { ProjectionModule } from "../projection/projection.module";
import { AuthNonceEntity } from "./auth-nonce.entity";
import { AuthNonceRepository } from "./auth-nonce.repository";
import { AuthController } from "./auth.controller";
import { AuthGuard } from "./auth.guard";
import { AuthService } from "./auth.service";
import { AuthorityService } from "./authority.service";
import { TokenService } from "./token.service";

/** Sign-in, access tokens, the global guard, and the one place that answers "does this account hold this role?". */
@Module({
  imports: [TypeOrmModule.forFeature([AuthNonceEntity]), PatientsModule, ProjectionModule],
  controllers: [AuthController],
  providers: [AuthService, AuthNonceRepository, TokenService, AuthorityService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenService, AuthorityService],
})
export class AuthModule {}
