/**
 * npm (npm/cli#9343, #9846) can write a lock file that names a package's optional platform
 * packages in its `optionalDependencies` without giving them entries of their own; a newer
 * npm then crashes in `npm ci` ("Invalid Version:") while it fills the gaps. This finds them.
 */
export interface LockFile {
  lockfileVersion: number;
  packages: Record<string, LockedPackage>;
}

interface LockedPackage {
  version?: string;
  link?: boolean;
  optionalDependencies?: Record<string, string>;
}

export interface MissingOptional {
  /** The lock's path of the package that declares the optional dependency. */
  dependent: string;
  /** The optional dependency that no lock entry provides. */
  name: string;
}

/** Node's resolution: the dependent's own node_modules first, then each ancestor's. */
function candidates(dependentPath: string, name: string): string[] {
  const paths: string[] = [];
  let base = dependentPath;
  for (;;) {
    paths.push(base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`);
    const cut = base.lastIndexOf('node_modules/');
    if (cut < 0) break;
    base = base.slice(0, cut).replace(/\/$/, '');
  }
  return paths;
}

export function missingOptionalEntries(lock: LockFile): MissingOptional[] {
  if (lock.lockfileVersion < 2 || !lock.packages) {
    throw new Error(`lockfileVersion ${lock.lockfileVersion} has no "packages" map`);
  }
  const missing: MissingOptional[] = [];
  for (const [dependent, pkg] of Object.entries(lock.packages)) {
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
      const found = candidates(dependent, name).some((path) => {
        const entry = lock.packages[path];
        return entry !== undefined && (entry.link === true || typeof entry.version === 'string');
      });
      if (!found) missing.push({ dependent: dependent || '(root)', name });
    }
  }
  return missing;
}
