import { HDNodeWallet, Mnemonic } from "ethers";

/** Hardhat's publicly known development mnemonic. These keys protect nothing and must never hold value. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export type DemoRole = "admin" | "relayer" | "anchorer" | "institution" | "regulator" | "patient" | "registrar";

export interface DemoAccount {
  name: string;
  role: DemoRole;
  address: string;
  privateKey: string;
}

const NAMES: Array<[name: string, role: DemoRole]> = [
  ["admin", "admin"],
  ["relayer", "relayer"],
  ["anchorer", "anchorer"],
  ["St Mary's Hospital", "institution"],
  ["Northside Lab", "institution"],
  ["Health Data Regulator", "regulator"],
  ["patient Alice", "patient"],
  ["patient Bob", "patient"],
  // The service's registrar key: it grants the institution role when the admin registers one (POST /institutions).
  ["registrar", "registrar"],
];

let derived: DemoAccount[] | undefined;

/** The named demo accounts, derived from Hardhat's dev mnemonic (indexes 0–8), once: derivation is slow. */
export function demoAccounts(): DemoAccount[] {
  derived ??= NAMES.map(([name, role], index) => {
    const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index}`);
    return { name, role, address: wallet.address, privateKey: wallet.privateKey };
  });
  return derived;
}

export function demoAccount(role: DemoRole, nth = 0): DemoAccount {
  const account = demoAccounts().filter((a) => a.role === role)[nth];
  if (!account) throw new Error(`No demo account #${nth} with role ${role}`);
  return account;
}
