import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";
import { ServiceMetaEntity } from "./service-meta.entity";

@Injectable()
export class ServiceMetaRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.dataSource.getRepository(ServiceMetaEntity).findOneBy({ key });
    return row?.value;
  }

  /** Stores `value` unless the key is already set; returns the value that is stored now. */
  async setOnce(key: string, value: string): Promise<string> {
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(ServiceMetaEntity)
      .values({ key, value })
      .orIgnore()
      .execute();
    return (await this.get(key))!;
  }

  /** Stores `value` under `key`, replacing any value there. */
  async set(key: string, value: string): Promise<void> {
    await this.dataSource.query(`INSERT INTO service_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, value]);
  }

  /** Round-trip time of a trivial query, for health checks. */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.dataSource.query("SELECT 1");
    return performance.now() - started;
  }
}
