import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * A cached entry: one format byte, a 4-byte header length, the header (JSON: the versions the
 * fill noted and when it was stored), then the value's JSON, deflated when the format says so.
 * Readers decode either format, so the compression threshold can change under live entries.
 */
export const FORMAT_PLAIN = 0x01;
export const FORMAT_DEFLATE = 0x02;

export interface EntryHeader {
  /** The version of each of the entry's types, noted before its fill read the source. */
  versions: Record<string, number>;
  /** Epoch ms at which the entry was stored. */
  storedAt: number;
}

export interface EncodedEntry {
  bytes: Buffer;
  /** The value's JSON, uncompressed. */
  json: Buffer;
  /** Bytes saved by compression (0 when stored plain). */
  saved: number;
}

export function encodeEntry(
  value: unknown,
  header: EntryHeader,
  compressAbove: number,
): EncodedEntry {
  const json = Buffer.from(JSON.stringify(value) ?? 'null');
  let format = FORMAT_PLAIN;
  let body = json;
  if (json.length > compressAbove) {
    const deflated = deflateRawSync(json);
    if (deflated.length < json.length) {
      format = FORMAT_DEFLATE;
      body = deflated;
    }
  }
  const head = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(format, 0);
  prefix.writeUInt32BE(head.length, 1);
  return {
    bytes: Buffer.concat([prefix, head, body]),
    json,
    saved: json.length - body.length,
  };
}

export class EntryFormatError extends Error {
  override readonly name = 'EntryFormatError';
}

/** The header alone: what a staleness sample needs, without inflating the value. */
export function decodeHeader(bytes: Buffer): EntryHeader {
  if (bytes.length < 5) throw new EntryFormatError('entry too short');
  const format = bytes.readUInt8(0);
  if (format !== FORMAT_PLAIN && format !== FORMAT_DEFLATE) {
    throw new EntryFormatError(`unknown entry format ${format}`);
  }
  const length = bytes.readUInt32BE(1);
  if (5 + length > bytes.length) throw new EntryFormatError('entry header cut short');
  return JSON.parse(bytes.subarray(5, 5 + length).toString()) as EntryHeader;
}

export function decodeEntry<T>(bytes: Buffer): { header: EntryHeader; value: T } {
  const { header, json } = decodeEntryJson(bytes);
  return { header, value: JSON.parse(json.toString()) as T };
}

/** The header and the value's JSON, inflated but not parsed (what the local tier keeps). */
export function decodeEntryJson(bytes: Buffer): { header: EntryHeader; json: Buffer } {
  const header = decodeHeader(bytes);
  const body = bytes.subarray(5 + bytes.readUInt32BE(1));
  const json = bytes.readUInt8(0) === FORMAT_DEFLATE ? inflateRawSync(body) : body;
  return { header, json };
}
