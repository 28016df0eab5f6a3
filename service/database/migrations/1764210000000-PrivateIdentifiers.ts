import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Enrolment identifiers are no longer stored in the clear: keyed hashes for lookups, and a copy sealed
 * under the patient's data key. Rows enrolled before this migration keep their plaintext column until the
 * service converts them at start (it holds the keys the database does not); the column is then empty.
 * Erasure may blank the identifying columns of a patient's access events that are not part of the leaf.
 * Sign-in challenges are bounded per address: index them by address.
 */
export class PrivateIdentifiers1764210000000 implements MigrationInterface {
  name = "PrivateIdentifiers1764210000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE patient_enrolments ADD COLUMN identifier_keys text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE patient_enrolments ADD COLUMN identifiers_sealed bytea`);
    await q.query(`ALTER TABLE patient_enrolments ALTER COLUMN identifiers DROP NOT NULL`);
    await q.query(`DROP INDEX patient_enrolments_identifiers`);
    await q.query(`CREATE INDEX patient_enrolments_identifier_keys ON patient_enrolments USING gin (identifier_keys)`);
    await q.query(`CREATE INDEX auth_nonces_outstanding ON auth_nonces (address, expires_at DESC) WHERE used_at IS NULL`);

    // Erasure's one exception to the append-only trail: within a transaction that declares it, the columns
    // outside the leaf that can name a patient (the resource id, the justification) may be blanked.
    await q.query(`CREATE OR REPLACE FUNCTION consentry_access_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF current_setting('consentry.erasure', true) = 'on' AND NEW.resource_id IS NULL AND NEW.justification IS NULL THEN
          probe.resource_id := OLD.resource_id;
          probe.justification := OLD.justification;
          probe.batch_id := OLD.batch_id;
          IF probe IS NOT DISTINCT FROM OLD AND NEW.batch_id IS NOT DISTINCT FROM OLD.batch_id THEN
            RETURN NEW;
          END IF;
          PERFORM consentry_refuse('erasure only blanks identifying columns outside the leaf');
        END IF;
        probe.batch_id := OLD.batch_id;
        IF probe IS DISTINCT FROM OLD OR OLD.batch_id IS NOT NULL OR NEW.batch_id IS NULL THEN
          PERFORM consentry_refuse('an event may only be assigned its batch, once');
        END IF;
        RETURN NEW;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX auth_nonces_outstanding`);
    await q.query(`DROP INDEX patient_enrolments_identifier_keys`);
    await q.query(`CREATE INDEX patient_enrolments_identifiers ON patient_enrolments USING gin (identifiers jsonb_path_ops)`);
    await q.query(`ALTER TABLE patient_enrolments DROP COLUMN identifiers_sealed, DROP COLUMN identifier_keys`);
  }
}
