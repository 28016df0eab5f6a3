import { Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { AuthModule } from "../auth/auth.module";
import { ProjectionModule } from "../projection/projection.module";
import { InstitutionDirectoryService } from "./institution-directory.service";
import { InstitutionNameEntity } from "./institution-name.entity";
import { InstitutionNameRepository } from "./institution-name.repository";
import { InstitutionsController } from "./institutions.controller";

/** The institution directory: roles as indexed from chain, names as the registry's admin gave them. */
@Module({
  imports: [TypeOrmModule.forFeature([InstitutionNameEntity]), AuthModule, ProjectionModule],
  controllers: [InstitutionsController],
  providers: [InstitutionDirectoryService, InstitutionNameRepository],
  exports: [InstitutionDirectoryService],
})
export class InstitutionsModule {}
