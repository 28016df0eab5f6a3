import { type DynamicModule, Global, Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import type { AppConfig } from "../config/app-config";
import { dataSourceOptions } from "./data-source";
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
          dataSourceFactory: async (options) => new DataSource(options!).initialize(),
        }),
      ],
      providers: [ServiceMetaRepository],
      exports: [ServiceMetaRepository],
    };
  }
}
