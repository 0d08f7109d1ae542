/** The contract key names of DESIGN.md (the configured prefix is added by the Redis client). */
export const versionKey = (dataType: string) => `shop.version.${dataType}`;
export const GLOBAL_VERSION_KEY = 'inertia.data.version';
export const tagKey = (tag: string) => `shop.tag.${tag}`;
/**
 * On a cluster, a tag set's members while a purge unlinks them (the service's own key, no part
 * of the contract). `{hashTag}` puts it in the tag set's slot, so one script moves them over.
 */
export const purgingKey = (hashTag: string, tag: string) => `shop.purging.{${hashTag}}.${tag}`;
/**
 * Pub/sub channel announcing each saga's new versions once they are written and their tags
 * purged. Channels are not keys: ioredis adds no prefix, so the configured prefix is added here.
 */
export const VERSIONS_CHANNEL = 'shop.versions.changed';

/** The contract value of `shop.version.{type}`: `{"version":42,"hash":"…","updatedAt":"…"}`. */
export const versionValue = (v: { version: bigint; hash: string; updatedAt: Date }) =>
  JSON.stringify({
    version: Number(v.version),
    hash: v.hash,
    updatedAt: v.updatedAt.toISOString(),
  });
