/** The version row was written by a newer lock holder: roll back, take a new lock, retry. */
export class StaleFenceError extends Error {
  readonly retryable = true;
  constructor(
    readonly dataType: string,
    readonly fenceToken: string,
  ) {
    super(`fence token ${fenceToken} is stale for data type ${dataType}`);
    this.name = 'StaleFenceError';
  }
}

/** Another transaction inserted some of our events into the inbox first: retry, they will be skipped. */
export class InboxRaceError extends Error {
  readonly retryable = true;
  constructor(readonly eventIds: string[]) {
    super(`inbox race on ${eventIds.length} event(s)`);
    this.name = 'InboxRaceError';
  }
}
