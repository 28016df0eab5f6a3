import { Module } from "@nestjs/common";
import { APP_GUARD } from "@nestjs/core";
import { PatientsModule } from "../patients/patients.module";
import { AuthNonceRepository } from "./auth-nonce.repository";
import { AuthController } from "./auth.controller";
import { AuthGuard } from "./auth.guard";
import { AuthService } from "./auth.service";
import { TokenService } from "./token.service";

@Module({
  imports: [PatientsModule],
  controllers: [AuthController],
  providers: [AuthService, AuthNonceRepository, TokenService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenService],
})
export class AuthModule {}
