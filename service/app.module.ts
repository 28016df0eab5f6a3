import { type DynamicModule, Module } from "@nestjs/common";
import { ChainModule, type ChainModuleOptions } from "./chain/chain.module";
import type { AppConfig } from "./config/app-config";
import { ConfigModule } from "./config/config.module";
import { DatabaseModule } from "./database/database.module";
import { HealthModule } from "./health/health.module";

export type AppModuleOptions = ChainModuleOptions;

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        ChainModule.forRoot(config, options),
        HealthModule,
      ],
    };
  }
}
