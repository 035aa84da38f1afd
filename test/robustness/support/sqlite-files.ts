/// <reference types="node" />
/**
 * What a Durable Object stored, read from the SQLite file `wrangler dev` keeps for it under
 * `--persist-to` (`v3/do/<script>-<class>/<object id>.sqlite`, with its `-wal`), without a SQLite
 * library (Node 20 has none built in).
 *
 * Miniflare creates an object's file as soon as the object is instantiated, whether or not it ever
 * writes, and puts a table of its own in it, so neither the file nor its size says anything. Its
 * schema does: every table the object creates, and the runtime's `_cf_KV` (key-value entries) and
 * `_cf_METADATA` (an alarm), is an entry of `sqlite_master`, whose b-tree root is page 1. An object
 * that stored nothing has no entry there but miniflare's; one that stored anything, even an alarm
 * alone, has more.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
/** B-tree page types (https://www.sqlite.org/fileformat.html#b_tree_pages). */
const LEAF_TABLE = 13;
const INTERIOR_TABLE = 5;

/**
 * Names of the database's `sqlite_master` entries (tables, indexes, …) as of its last committed
 * transaction: [] for a database that holds nothing. Miniflare adds a table of its own to every
 * object's file, `__miniflare_do_name` (the object's name, for its tools): see `storedTables`.
 */
export function schemaNames(dbPath: string): string[] {
  const page1 = committedPage1FromWal(`${dbPath}-wal`) ?? page1FromDb(dbPath);
  if (!page1 || page1.length < 108) return [];
  const type = page1[100];
  // A schema too large for one page: certainly not empty.
  if (type === INTERIOR_TABLE) return ['(a schema larger than one page)'];
  if (type !== LEAF_TABLE) throw new Error(`${dbPath}: page 1 is not a table b-tree page (type ${type})`);
  const cells = page1.readUInt16BE(103);
  const names: string[] = [];
  for (let i = 0; i < cells; i++) names.push(entryName(page1, page1.readUInt16BE(108 + 2 * i)));
  return names;
}

/** Tables and indexes the object itself created (miniflare's own `__miniflare_do_name` left out): [] when it stored nothing. */
export function storedTables(dbPath: string): string[] {
  return schemaNames(dbPath).filter((name) => name !== '__miniflare_do_name');
}

/** The `name` column of a `sqlite_master` row (type, name, tbl_name, rootpage, sql) stored at `offset`. */
function entryName(page: Buffer, offset: number): string {
  let at = offset;
  const varint = (): number => {
    let value = 0;
    for (let i = 0; i < 9; i++) {
      const byte = page[at++]!;
      if (i === 8) return value * 256 + byte;
      value = value * 128 + (byte & 0x7f);
      if (byte < 0x80) return value;
    }
    return value;
  };
  varint(); // payload size
  varint(); // rowid
  const headerStart = at;
  const headerSize = varint();
  const types: number[] = [];
  while (at < headerStart + headerSize) types.push(varint());
  let body = headerStart + headerSize;
  const length = (t: number): number => (t >= 12 ? Math.floor((t - (t % 2 ? 13 : 12)) / 2) : [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][t] ?? 0);
  body += length(types[0]!); // type
  return page.subarray(body, body + length(types[1]!)).toString('utf8');
}

function page1FromDb(dbPath: string): Buffer | null {
  if (!existsSync(dbPath) || statSync(dbPath).size < 100) return null;
  const header = read(dbPath, 0, 100);
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  return read(dbPath, 0, pageSize);
}

/** Page 1 as the WAL's last commit left it, or null when the WAL holds no committed copy of it. */
function committedPage1FromWal(walPath: string): Buffer | null {
  if (!existsSync(walPath) || statSync(walPath).size < WAL_HEADER) return null;
  const wal = read(walPath, 0, statSync(walPath).size);
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return null;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let latest: Buffer | null = null;
  let committed: Buffer | null = null;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    // Frames left over from before the WAL was last restarted carry older salts: the log ends there.
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at) === 1) latest = wal.subarray(at + FRAME_HEADER, at + FRAME_HEADER + pageSize);
    // A commit frame (database size after it, non-zero) makes every frame before it durable.
    if (wal.readUInt32BE(at + 4) !== 0) committed = latest;
  }
  return committed;
}

function read(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
