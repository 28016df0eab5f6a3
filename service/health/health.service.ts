import { Injectable } from "@nestjs/common";
import { ChainService } from "../chain/chain.service";
import { ConsentIndexer } from "../projection/consent-indexer";
import { AnchorBatchRepository } from "../audit/anchor-batch.repository";
import { TrailMonitor } from "../audit/trail-monitor.service";
import { ServiceMetaRepository } from "../database/service-meta.repository";
import type { HealthReport } from "./health.dto";

/** A health probe never waits longer than this for one dependency. */
export const HEALTH_PROBE_TIMEOUT_MS = 2_000;

@Injectable()
export class HealthService {
  constructor(
    private readonly chain: ChainService,
    private readonly meta: ServiceMetaRepository,
    private readonly indexer: ConsentIndexer,
    private readonly batches: AnchorBatchRepository,
    private readonly trailMonitor: TrailMonitor,
  ) {}

  async report(): Promise<HealthReport> {
    const [database, chain, indexer, anchoring] = await Promise.all([
      probe(async () => ({ latencyMs: round(await this.meta.ping()) })),
      probe(async () => {
        const head = await this.chain.head();
        return { chainId: this.chain.deployment.chainId, head: head.number, headTimestamp: head.timestamp };
      }),
      probe(async () => {
        const f = await this.indexer.freshness();
        if (!f.fresh) throw new Error(`consent projection not fresh (${f.reason})`);
        return { block: f.blockNumber, head: f.headNumber, lagMs: f.lagMs };
      }),
      // A backlog is not unhealthy by itself (events wait safely in the database during a chain outage).
      probe(async () => this.batches.backlog()),
    ]);
    const { deployment } = this.chain;
    const { ok: trailOk, failure, ...trailProgress } = this.trailMonitor.report();
    const trail = trailOk
      ? { ok: true as const, ...trailProgress }
      : { ok: false as const, error: `the access trail fails its integrity check at seq ${failure!.seq} (${failure!.reason})`, failure, ...trailProgress };
    return {
      status: database.ok && chain.ok && indexer.ok && trail.ok ? "ok" : "unavailable",
      database,
      chain,
      indexer,
      anchoring,
      trail,
      deployment: {
        network: deployment.network,
        chainId: deployment.chainId,
        deploymentBlock: deployment.deploymentBlock,
        consentRegistry: deployment.contracts.ConsentRegistry.address,
        accessLedger: deployment.contracts.AccessLedger.address,
      },
    };
  }
}

async function probe<T extends object>(check: () => Promise<T>): Promise<({ ok: true } & T) | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_PROBE_TIMEOUT_MS} ms`)), HEALTH_PROBE_TIMEOUT_MS);
    });
    return { ok: true, ...(await Promise.race([check(), timeout])) };
  } catch (error) {
    // Only the first line: driver messages can carry connection strings further down.
    return { ok: false, error: (error as Error).message.split("\n")[0].slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
