/** The Redis lock could not be had within its retries: the saga takes the fallback path. */
export class LockUnavailableError extends Error {
  readonly disposition = 'fallback' as const;
  constructor(
    readonly dataTypes: string[],
    readonly attempts: number,
  ) {
    super(`lock on ${dataTypes.join(', ')} unavailable after ${attempts} attempt(s)`);
    this.name = 'LockUnavailableError';
  }
}

/** The lock expired or could not be extended before COMMIT: the transaction is aborted. */
export class LockLostError extends Error {
  readonly disposition = 'lost-race' as const;
  constructor(readonly dataTypes: string[]) {
    super(`lock on ${dataTypes.join(', ')} lost before commit`);
    this.name = 'LockLostError';
  }
}
