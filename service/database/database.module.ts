import { type DynamicModule, Global, Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { DataSource, type DataSourceOptions } from "typeorm";
import type { AppConfig } from "../config/app-config";
import { dataSourceOptions, migrateExclusively } from "./data-source";
import { ServiceMetaEntity } from "./service-meta.entity";
import { ServiceMetaRepository } from "./service-meta.repository";

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forFeature([ServiceMetaEntity]),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions(config), autoLoadEntities: true, retryAttempts: 0 }),
          // Migrations run after connecting, one instance at a time (migrateExclusively), not by TypeORM at initialize.
          dataSourceFactory: async (options) => migrateExclusively(await new DataSource({ ...options!, migrationsRun: false } as DataSourceOptions).initialize(), config),
        }),
      ],
      providers: [ServiceMetaRepository],
      exports: [ServiceMetaRepository],
    };
  }
}
