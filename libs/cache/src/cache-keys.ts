/** The contract key names of DESIGN.md (the configured prefix is added by the Redis client). */
export const versionKey = (dataType: string) => `shop.version.${dataType}`;
export const GLOBAL_VERSION_KEY = 'inertia.data.version';
export const tagKey = (tag: string) => `shop.tag.${tag}`;

/** The contract value of `shop.version.{type}`: `{"version":42,"hash":"…","updatedAt":"…"}`. */
export const versionValue = (v: { version: bigint; hash: string; updatedAt: Date }) =>
  JSON.stringify({
    version: Number(v.version),
    hash: v.hash,
    updatedAt: v.updatedAt.toISOString(),
  });
