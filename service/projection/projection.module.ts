import { Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { ConsentIndexer } from "./consent-indexer";
import { ConsentProjectionRepository } from "./consent-projection.repository";
import { ConsentEntity } from "./consent.entity";
import { IndexedBlockEntity, IndexerStateEntity, RoleEventEntity } from "./indexer.entities";

/**
 * The chain's consent state as the service reads it: ConsentRegistry events (consents, revocations,
 * role grants and revocations) indexed into the database, with reorg handling and freshness.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ConsentEntity, RoleEventEntity, IndexedBlockEntity, IndexerStateEntity])],
  providers: [ConsentProjectionRepository, ConsentIndexer],
  exports: [ConsentProjectionRepository, ConsentIndexer],
})
export class ProjectionModule {}
