/** The contract key names of DESIGN.md (the configured prefix is added by the Redis client). */
export const versionKey = (dataType: string) => `shop.version.${dataType}`;
export const GLOBAL_VERSION_KEY = 'inertia.data.version';
export const tagKey = (tag: string) => `shop.tag.${tag}`;
