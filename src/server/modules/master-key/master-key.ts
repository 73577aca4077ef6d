import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../../config.js';

/**
 * The master key: 32 random bytes kept outside the database (the environment or a key file). It
 * seals the token signing keys and the client-secret HMAC key, so a copy of the database or a
 * backup without it cannot mint tokens. Only the sealed form is ever written to the database.
 */
export interface MasterKey {
  /** A short name of the key (a hash), stored beside what it sealed: a wrong key is told apart from damage. */
  readonly id: string;
  /** The variable the key came from, for one-line errors. */
  readonly origin: 'KOIOS_MASTER_KEY' | 'KOIOS_MASTER_KEY_FILE';
  /** AES-256-GCM; `purpose` is bound as associated data so a sealed value cannot be moved to another row. */
  seal(plain: Buffer, purpose: string): string;
  /** The plain bytes, or a ConfigError when this key did not seal the value (or it was altered). */
  open(sealed: string, purpose: string): Buffer;
}

export const MASTER_KEY_BYTES = 32;
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The key from its text form: 64 hex digits, or base64 / base64url of 32 bytes. Null when it is neither. */
export function parseMasterKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/=$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
    if (bytes.length === MASTER_KEY_BYTES) return bytes;
  }
  return null;
}

export const MASTER_KEY_FORMAT = 'must be 32 random bytes as base64 or 64 hex digits (e.g. the output of: openssl rand -base64 32)';

/** A sealed value is `v1.<key id>.<nonce>.<ciphertext and tag>`; nothing else stored starts so. */
export function isSealed(value: string): boolean {
  return value.startsWith(`${VERSION}.`);
}

export function createMasterKey(bytes: Buffer, origin: MasterKey['origin']): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) throw new ConfigError(origin, MASTER_KEY_FORMAT);
  const id = createHash('sha256').update('koios-access master key id\0').update(bytes).digest().subarray(0, 9).toString('base64url');
  // A derived key encrypts, so the id (a hash of the master key) and the cipher never share a key.
  const key = Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'koios-access sealed keys v1', 32));
  const doesNotOpen = (sealedUnder: string | null) =>
    new ConfigError(
      origin,
      `the master key does not open this database's keys (they are sealed under master key ${sealedUnder ?? 'unknown'}, this key is ${id})`,
    );
  return {
    id,
    origin,
    seal(plain, purpose) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(`koios:${purpose}`, 'utf8'));
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, id, nonce.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, purpose) {
      const [version, keyId, nonce, body] = sealed.split('.');
      if (version !== VERSION || keyId === undefined || nonce === undefined || body === undefined) {
        throw new ConfigError(origin, `a sealed key in the database is damaged (${purpose})`);
      }
      if (keyId !== id) throw doesNotOpen(keyId);
      const bytes = Buffer.from(body, 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
        decipher.setAAD(Buffer.from(`koios:${purpose}`, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw doesNotOpen(keyId);
      }
    },
  };
}

/** Where the master key comes from (config.ts parses it; the file is read or made at start). */
export type MasterKeySource =
  { readonly kind: 'value'; readonly key: () => Buffer } | { readonly kind: 'file'; readonly path: string; readonly configured: boolean };

/**
 * The master key of `source`. A key file that does not exist is generated (32 random bytes,
 * mode 0600, in a folder created 0700) only while the database has no keys sealed under another
 * key (`sealedUnder` null); otherwise start-up stops and names the key it needs.
 */
export function loadMasterKey(source: MasterKeySource, sealedUnder: string | null, logger?: Logger): MasterKey {
  if (source.kind === 'value') return createMasterKey(source.key(), 'KOIOS_MASTER_KEY');
  const variable = source.configured ? 'KOIOS_MASTER_KEY_FILE' : 'KOIOS_MASTER_KEY';
  const existing = readKeyFile(source.path, variable, logger);
  if (existing !== null) return createMasterKey(existing, 'KOIOS_MASTER_KEY_FILE');
  if (sealedUnder !== null) {
    throw new ConfigError(
      variable,
      `${source.configured ? '' : 'is not set and '}the key file ${source.path} does not exist, but this database's keys are sealed under master key ${sealedUnder}: give that key`,
    );
  }
  const bytes = writeKeyFile(source.path, variable, logger);
  logger?.warn({ file: source.path }, 'generated a new master key file; back it up apart from the database: without it the database cannot be used');
  return createMasterKey(bytes, 'KOIOS_MASTER_KEY_FILE');
}

/** The key in a key file, null when there is no such file. */
export function readKeyFile(path: string, variable: string, logger?: Logger): Buffer | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(variable, `cannot read the key file ${path} (${(error as Error).message})`);
  }
  const bytes = parseMasterKey(text);
  if (bytes === null) throw new ConfigError(variable, `the key file ${path} ${MASTER_KEY_FORMAT}`);
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    logger?.warn(
      { file: path, mode: mode.toString(8).padStart(4, '0') },
      `the master key file can be read by other users of this host; restrict it with: chmod 600 ${path}`,
    );
  }
  return bytes;
}

/**
 * Writes a new random key to `path` (0600, never over an existing file); returns the key in the
 * file. The key is written to a temporary file first and linked into place, so another process
 * starting at the same moment sees either no file or the whole key.
 */
export function writeKeyFile(path: string, variable: string, logger?: Logger): Buffer {
  const bytes = randomBytes(MASTER_KEY_BYTES);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${bytes.toString('base64url')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
  } catch (error) {
    // Another process made it first: use that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = readKeyFile(path, variable, logger);
      if (theirs !== null) return theirs;
    }
    throw new ConfigError(variable, `cannot create the key file ${path} (${(error as Error).message})`);
  } finally {
    rmSync(temporary, { force: true });
  }
  return bytes;
}
