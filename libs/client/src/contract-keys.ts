/**
 * The contract's Redis names (README.md "Stores"), defined here only: the package stands
 * alone, and the service's libs (cache, locking) import them from it. A client's ioredis
 * `keyPrefix` is added to keys by ioredis, to channels and set members by us.
 */
export const versionKey = (dataType: string) => `shop.version.${dataType}`;
export const GLOBAL_VERSION_KEY = 'inertia.data.version';
export const tagKey = (tag: string) => `shop.tag.${tag}`;
export const VERSIONS_CHANNEL = 'shop.versions.changed';

/** The value of `shop.version.{type}`: `{"version":42,"hash":"…","updatedAt":"…"}`. */
export const versionValue = (v: { version: bigint; hash: string; updatedAt: Date }) =>
  JSON.stringify({
    version: Number(v.version),
    hash: v.hash,
    updatedAt: v.updatedAt.toISOString(),
  });

/** The number in a `shop.version.{type}` value (`{"version":42,…}`); 0 when missing. */
export function parseVersion(stored: string | null): number {
  if (!stored) return 0;
  try {
    const version = (JSON.parse(stored) as { version?: unknown }).version;
    return typeof version === 'number' && Number.isFinite(version) ? version : 0;
  } catch {
    return 0;
  }
}
