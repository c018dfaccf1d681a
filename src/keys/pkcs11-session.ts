// The PKCS#11 side below the root keys: loading the module, finding the slot, opening a session and
// logging in with the PIN, and closing it all again. Module initialisation and login state are per
// process and per token, so both are reference counted: two providers in one process can coexist.
import { readFile } from "node:fs/promises";
import pkcs11js from "pkcs11js";
import type { Config } from "../config.js";

export type Handle = Buffer;

// Session states (PKCS#11 2.40 §5.8); pkcs11js does not export them.
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;

const PIN_REJECTED = new Map<number, string>([
  [pkcs11js.CKR_PIN_INCORRECT, "wrong PIN"],
  [pkcs11js.CKR_PIN_INVALID, "wrong PIN"],
  [pkcs11js.CKR_PIN_LEN_RANGE, "wrong PIN"],
  [pkcs11js.CKR_PIN_LOCKED, "the user PIN is locked"],
  [pkcs11js.CKR_PIN_EXPIRED, "the user PIN has expired"],
  [pkcs11js.CKR_USER_PIN_NOT_INITIALIZED, "the token's user PIN is not initialized"],
]);

/** The CKR_ code of a failed call, when it is a PKCS#11 error. */
export function ckr(e: unknown): number | undefined {
  return e instanceof pkcs11js.Pkcs11Error ? e.code : undefined;
}

/** One line naming the failed call and its CKR_ code (pkcs11js messages may span lines). */
export function describeFailure(e: unknown): string {
  if (e instanceof pkcs11js.Pkcs11Error) return e.message;
  return (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "unknown error";
}

interface LoadedModule {
  lib: pkcs11js.PKCS11;
  refs: number;
  finalize: boolean;
  logins: Map<string, number>;
}
const modules = new Map<string, LoadedModule>();

function acquireModule(modulePath: string): LoadedModule {
  const known = modules.get(modulePath);
  if (known) {
    known.refs++;
    return known;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(modulePath);
  } catch (e) {
    throw new Error(`cannot load PKCS#11 module ${modulePath}: ${describeFailure(e)}`);
  }
  let finalize = true;
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      lib.close();
      throw new Error(`PKCS#11 C_Initialize failed for ${modulePath}: ${describeFailure(e)}`);
    }
    finalize = false;
  }
  const loaded: LoadedModule = { lib, refs: 1, finalize, logins: new Map() };
  modules.set(modulePath, loaded);
  return loaded;
}

function releaseModule(modulePath: string, m: LoadedModule): void {
  if (--m.refs > 0) return;
  modules.delete(modulePath);
  try {
    if (m.finalize) m.lib.C_Finalize();
  } finally {
    m.lib.close();
  }
}

export function slotId(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

/** A logged-in read-write session on the configured token. */
export interface Session {
  module: LoadedModule;
  modulePath: string;
  slot: Handle;
  slotKey: string;
  handle: Handle;
}

type SessionConfig = Pick<
  Config,
  "pkcs11Module" | "pkcs11Slot" | "pkcs11TokenLabel" | "pkcs11Pin" | "pkcs11PinFile"
>;

/** Loads the module, opens a session on the configured token and logs in (once: see `login`). */
export async function openSession(cfg: SessionConfig): Promise<Session> {
  const modulePath = cfg.pkcs11Module;
  if (!modulePath) throw new Error("the pkcs11 provider needs SSE_PKCS11_MODULE");
  const pin = await readPin(cfg);
  const module = acquireModule(modulePath);
  let handle: Handle | undefined;
  let slotKey = "";
  try {
    const slot = findSlot(module.lib, cfg);
    slotKey = slot.toString("hex");
    try {
      handle = module.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    } catch (e) {
      throw new Error(`PKCS#11 C_OpenSession failed: ${describeFailure(e)}`);
    }
    login(module, slotKey, handle, pin);
    return { module, modulePath, slot, slotKey, handle };
  } catch (e) {
    if (handle) endSession(module, slotKey, handle, false);
    releaseModule(modulePath, module);
    throw e;
  }
}

/** Logs out (when no other session of the process still needs the token's login) and closes. */
export function closeSession(s: Session): void {
  endSession(s.module, s.slotKey, s.handle, true);
  releaseModule(s.modulePath, s.module);
}

/** The label of the session's token, as the log names it. */
export function tokenLabel(s: Session): string {
  return s.module.lib.C_GetTokenInfo(s.slot).label.trim();
}

/** Throws when the session is gone or no longer logged in (the token was removed or reset). */
export function checkLoggedIn(s: Session): void {
  const info = s.module.lib.C_GetSessionInfo(s.handle);
  if (info.state !== CKS_RW_USER_FUNCTIONS && info.state !== CKS_RO_USER_FUNCTIONS)
    throw new Error("the PKCS#11 session is no longer logged in");
}

async function readPin(cfg: SessionConfig): Promise<string> {
  const { pkcs11Pin, pkcs11PinFile } = cfg;
  if (pkcs11Pin !== undefined) return pkcs11Pin;
  if (pkcs11PinFile === undefined)
    throw new Error("the pkcs11 provider needs SSE_PKCS11_PIN or SSE_PKCS11_PIN_FILE");
  let text: string;
  try {
    text = await readFile(pkcs11PinFile, "utf8");
  } catch (e) {
    throw new Error(`cannot read the PIN file ${pkcs11PinFile}: ${(e as NodeJS.ErrnoException).code}`);
  }
  const pin = (text.split("\n")[0] ?? "").replace(/\r$/, "");
  if (pin === "") throw new Error(`the PIN file ${pkcs11PinFile} is empty`);
  return pin;
}

function findSlot(lib: pkcs11js.PKCS11, cfg: SessionConfig): Handle {
  const { pkcs11Slot, pkcs11TokenLabel } = cfg;
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (e) {
    throw new Error(`PKCS#11 C_GetSlotList failed: ${describeFailure(e)}`);
  }
  for (const slot of slots) {
    if (pkcs11Slot !== undefined) {
      if (slotId(slot) === pkcs11Slot) return slot;
    } else if (lib.C_GetTokenInfo(slot).label.trimEnd() === pkcs11TokenLabel) {
      return slot;
    }
  }
  throw new Error(
    pkcs11Slot !== undefined
      ? `PKCS#11 slot ${pkcs11Slot} has no token`
      : `PKCS#11 token labelled "${pkcs11TokenLabel}" not found`,
  );
}

/** Logs in once; a rejected PIN is never retried, so a token's retry counter is not burnt. */
function login(module: LoadedModule, slotKey: string, handle: Handle, pin: string): void {
  try {
    module.lib.C_Login(handle, pkcs11js.CKU_USER, pin);
  } catch (e) {
    const code = ckr(e);
    const rejected = code === undefined ? undefined : PIN_REJECTED.get(code);
    if (rejected) throw new Error(`PKCS#11 login failed: ${rejected} (not retried)`);
    // Another provider of this process already logged in to this token (login is per token).
    if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN)
      throw new Error(`PKCS#11 C_Login failed: ${describeFailure(e)}`);
  }
  module.logins.set(slotKey, (module.logins.get(slotKey) ?? 0) + 1);
}

function endSession(module: LoadedModule, slotKey: string, handle: Handle, loggedIn: boolean): void {
  if (loggedIn) {
    const left = (module.logins.get(slotKey) ?? 1) - 1;
    if (left > 0) module.logins.set(slotKey, left);
    else {
      module.logins.delete(slotKey);
      try {
        module.lib.C_Logout(handle);
      } catch {
        // the session may already be gone; closing it below is what matters
      }
    }
  }
  try {
    module.lib.C_CloseSession(handle);
  } catch {
    // already closed by the token
  }
}
