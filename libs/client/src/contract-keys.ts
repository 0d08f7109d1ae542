/**
 * The contract's Redis names (DESIGN.md "Stores"), repeated here so the package stands alone.
 * A client's ioredis `keyPrefix` is added to keys by ioredis, to channels and set members by us.
 */
export const versionKey = (dataType: string) => `shop.version.${dataType}`;
export const GLOBAL_VERSION_KEY = 'inertia.data.version';
export const tagKey = (tag: string) => `shop.tag.${tag}`;
export const VERSIONS_CHANNEL = 'shop.versions.changed';

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
