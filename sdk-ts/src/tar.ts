/**
 * Tar archives of plain files, as the instance file API takes and gives them (pure, no Node APIs).
 * Writes ustar with a PAX header for paths past 100 bytes; reads ustar and PAX (what the node sends).
 */

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Path (relative, `/`-separated) → content; text is stored as UTF-8. */
export type FileMap = Record<string, string | Uint8Array>;

function writeField(header: Uint8Array, offset: number, length: number, value: string): void {
  header.set(encoder.encode(value).subarray(0, length), offset);
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, "0")}\0`;
}

function headerBlock(name: string, size: number, type: string): Uint8Array {
  const header = new Uint8Array(BLOCK);
  writeField(header, 0, 100, name);
  writeField(header, 100, 8, octal(type === "5" ? 0o755 : 0o644, 8));
  writeField(header, 108, 8, octal(0, 8));
  writeField(header, 116, 8, octal(0, 8));
  writeField(header, 124, 12, octal(size, 12));
  writeField(header, 136, 12, octal(Math.floor(Date.now() / 1000), 12));
  writeField(header, 148, 8, "        ");
  writeField(header, 156, 1, type);
  writeField(header, 257, 8, "ustar\u000000");
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  writeField(header, 148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

function padded(data: Uint8Array): Uint8Array[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, new Uint8Array(BLOCK - rest)];
}

/** A PAX record `"<len> path=<value>\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const base = encoder.encode(body).length;
  let total = base;
  while (String(total).length + base !== total) total = String(total).length + base;
  return `${total}${body}`;
}

function entryBlocks(path: string, content: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  if (encoder.encode(path).length > 100) {
    const pax = encoder.encode(paxRecord("path", path));
    blocks.push(headerBlock("PaxHeader", pax.length, "x"), ...padded(pax));
  }
  blocks.push(headerBlock(path, content.length, "0"), ...padded(content));
  return blocks;
}

/** An uncompressed tar of the given files. */
export function packFiles(files: FileMap): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [path, content] of Object.entries(files)) {
    const clean = path.replace(/^\.?\/+/, "");
    if (clean === "" || clean.split("/").includes("..")) throw new RangeError(`not a relative path: ${path}`);
    blocks.push(...entryBlocks(clean, typeof content === "string" ? encoder.encode(content) : content));
  }
  blocks.push(new Uint8Array(BLOCK * 2));
  const archive = new Uint8Array(blocks.reduce((total, block) => total + block.length, 0));
  let offset = 0;
  for (const block of blocks) {
    archive.set(block, offset);
    offset += block.length;
  }
  return archive;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function readOctal(block: Uint8Array, offset: number, length: number): number {
  const text = readString(block, offset, length).trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function paxFields(data: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of decoder.decode(data).split("\n")) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) fields[match[1]] = match[2];
  }
  return fields;
}

/** The regular files of an uncompressed tar, by path (directories and links are left out). */
export function unpackFiles(archive: Uint8Array): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  let pax: Record<string, string> = {};
  for (let offset = 0; offset + BLOCK <= archive.length;) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const type = readString(header, 156, 1);
    const prefix = readString(header, 345, 155);
    const name = readString(header, 0, 100);
    const size = pax["size"] !== undefined ? Number(pax["size"]) : readOctal(header, 124, 12);
    const data = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      pax = paxFields(data);
      continue;
    }
    if (type === "0" || type === "" || type === "7") {
      files[pax["path"] ?? (prefix ? `${prefix}/${name}` : name)] = data.slice();
    }
    if (type !== "g") pax = {};
  }
  return files;
}
