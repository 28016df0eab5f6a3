import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";
import { InstitutionNameEntity } from "./institution-name.entity";

export type NameChange = "created" | "renamed" | "unchanged";

/** Institution names; the only code that touches `institution_names`. */
@Injectable()
export class InstitutionNameRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get rows() {
    return this.dataSource.getRepository(InstitutionNameEntity);
  }

  all(): Promise<InstitutionNameEntity[]> {
    return this.rows.find();
  }

  find(address: string): Promise<InstitutionNameEntity | null> {
    return this.rows.findOneBy({ address: address.toLowerCase() });
  }

  findByNameKey(nameKey: string): Promise<InstitutionNameEntity | null> {
    return this.rows.findOneBy({ nameKey });
  }

  /**
   * Gives `address` the name, in one statement: a new row, a rename, or nothing when it already has it.
   * Throws the database's unique violation when another account holds the name.
   */
  async assign(address: string, name: string, nameKey: string, registeredBy: string): Promise<NameChange> {
    const rows: Array<{ inserted: boolean }> = await this.dataSource.query(
      `INSERT INTO institution_names (address, name, name_key, registered_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (address) DO UPDATE SET name = EXCLUDED.name, name_key = EXCLUDED.name_key,
           registered_by = EXCLUDED.registered_by, updated_at = now()
         WHERE institution_names.name IS DISTINCT FROM EXCLUDED.name
       RETURNING (xmax = 0) AS inserted`,
      [address.toLowerCase(), name, nameKey, registeredBy.toLowerCase()],
    );
    if (rows.length === 0) return "unchanged";
    return rows[0].inserted ? "created" : "renamed";
  }
}
