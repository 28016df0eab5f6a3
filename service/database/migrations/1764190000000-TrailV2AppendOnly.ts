import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Trail format v2 (docs/access-trail.md): each event names its format and its requester. Events written
 * before keep format 1, whose leaf has no requester; their requester is the caller.
 *
 * The trail becomes append-only at the database, for every role but one that bypasses triggers (a
 * superuser): an event may only gain its batch id, once; a batch header only moves forward through its
 * states and may be stamped as pruned; the head only moves forward. Retention deletes the events of
 * confirmed batches, and only inside a transaction that declared it (`SET LOCAL consentry.retention = 'on'`).
 */
export class TrailV2AppendOnly1764190000000 implements MigrationInterface {
  name = "TrailV2AppendOnly1764190000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE access_events ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2))`);
    await q.query(`ALTER TABLE access_events ADD COLUMN requester text`);
    await q.query(`UPDATE access_events SET requester = actor`);
    await q.query(`ALTER TABLE access_events ALTER COLUMN requester SET NOT NULL`);
    await q.query(`ALTER TABLE access_events ALTER COLUMN format DROP DEFAULT`);
    await q.query(`CREATE INDEX access_events_requester ON access_events (requester, seq)`);

    await q.query(`CREATE FUNCTION consentry_refuse(what text) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the access trail is append-only: %', what USING ERRCODE = 'insufficient_privilege';
      END $$`);

    await q.query(`CREATE FUNCTION consentry_access_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        probe access_events;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF current_setting('consentry.retention', true) = 'on' AND EXISTS (
               SELECT 1 FROM anchor_batches b WHERE b.batch_id = OLD.batch_id AND b.state = 'confirmed') THEN
            RETURN OLD;
          END IF;
          PERFORM consentry_refuse('events are deleted only by retention, from confirmed batches');
        END IF;
        probe := NEW;
        probe.batch_id := OLD.batch_id;
        IF probe IS DISTINCT FROM OLD OR OLD.batch_id IS NOT NULL OR NEW.batch_id IS NULL THEN
          PERFORM consentry_refuse('an event may only be assigned its batch, once');
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON access_events
      FOR EACH ROW EXECUTE FUNCTION consentry_access_events_guard()`);

    await q.query(`CREATE FUNCTION consentry_anchor_batches_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM consentry_refuse('batch headers are never deleted');
        END IF;
        IF (NEW.batch_id, NEW.first_seq, NEW.last_seq, NEW.root, NEW.break_glass, NEW.created_at)
             IS DISTINCT FROM (OLD.batch_id, OLD.first_seq, OLD.last_seq, OLD.root, OLD.break_glass, OLD.created_at) THEN
          PERFORM consentry_refuse('a batch''s range and root never change');
        END IF;
        IF OLD.state = 'confirmed' AND (NEW.state, NEW.tx_id, NEW.tx_hash, NEW.block_number, NEW.anchored_at)
             IS DISTINCT FROM (OLD.state, OLD.tx_id, OLD.tx_hash, OLD.block_number, OLD.anchored_at) THEN
          PERFORM consentry_refuse('a confirmed batch''s anchoring never changes');
        END IF;
        IF OLD.events_pruned_at IS NOT NULL AND NEW.events_pruned_at IS DISTINCT FROM OLD.events_pruned_at THEN
          PERFORM consentry_refuse('a batch is pruned once');
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER anchor_batches_append_only BEFORE UPDATE OR DELETE ON anchor_batches
      FOR EACH ROW EXECUTE FUNCTION consentry_anchor_batches_guard()`);

    await q.query(`CREATE FUNCTION consentry_access_log_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.last_seq < OLD.last_seq
           OR (NEW.last_seq = OLD.last_seq AND NEW.last_leaf <> OLD.last_leaf) THEN
          PERFORM consentry_refuse('the head only moves forward');
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER access_log_head_forward_only BEFORE UPDATE OR DELETE ON access_log_head
      FOR EACH ROW EXECUTE FUNCTION consentry_access_log_head_guard()`);

    await q.query(`CREATE FUNCTION consentry_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM consentry_refuse('tables of the trail are never truncated');
        RETURN NULL;
      END $$`);
    for (const table of ["access_events", "anchor_batches", "access_log_head"]) {
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION consentry_no_truncate()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["access_events", "anchor_batches", "access_log_head"]) {
      await q.query(`DROP TRIGGER ${table}_no_truncate ON ${table}`);
    }
    await q.query(`DROP TRIGGER access_log_head_forward_only ON access_log_head`);
    await q.query(`DROP TRIGGER anchor_batches_append_only ON anchor_batches`);
    await q.query(`DROP TRIGGER access_events_append_only ON access_events`);
    await q.query(`DROP FUNCTION consentry_no_truncate(), consentry_access_log_head_guard(), consentry_anchor_batches_guard(),
      consentry_access_events_guard(), consentry_refuse(text)`);
    await q.query(`DROP INDEX access_events_requester`);
    await q.query(`ALTER TABLE access_events DROP COLUMN requester, DROP COLUMN format`);
  }
}
