import { type DynamicModule, Global, Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import type { AppConfig } from "../config/app-config";
import { dataSourceOptions } from "./data-source";
import { ServiceMetaRepository } from "./service-meta.repository";

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions(config), retryAttempts: 0 }),
          dataSourceFactory: async (options) => new DataSource(options!).initialize(),
        }),
      ],
      providers: [ServiceMetaRepository],
      exports: [ServiceMetaRepository],
    };
  }
}
