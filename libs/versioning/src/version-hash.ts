import { createHash } from 'node:crypto';

/** Unique per (type, version): the version is part of what is hashed. */
export function versionHash(dataType: string, version: bigint, fenceToken: bigint): string {
  return createHash('sha256').update(`${dataType}:${version}:${fenceToken}`).digest('hex');
}

/** The global version string the web tier keys on: derived from every type's version. */
/** Types the operator CLI creates and removes while validating; they never reach the global version. */
export const THROWAWAY_TYPE_PREFIX = 'validate:';

export function globalVersionString(
  versions: ReadonlyArray<{ dataType: string; version: bigint }>,
): string {
  const sorted = versions
    .filter((v) => !v.dataType.startsWith(THROWAWAY_TYPE_PREFIX))
    .sort((a, b) => (a.dataType < b.dataType ? -1 : 1));
  const parts = sorted.map((v) => `${v.dataType}:${v.version}`).join('|');
  const digest = createHash('sha256').update(parts).digest('hex').slice(0, 16);
  const global = versions.find((v) => v.dataType === 'global')?.version ?? 0n;
  return `${global}.${digest}`;
}
