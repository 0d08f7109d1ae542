import { InvalidEventError, dispositionOf, isStoreFailure } from '@invalidator/contracts';
import { LockLostError, LockUnavailableError } from '@invalidator/locking';
import {
  IdempotencyKeyRaceError,
  RejectedRowError,
  StaleFenceError,
} from '@invalidator/versioning';
import { BatchRevokedError } from './incoming-batch';
import { BatchAbandonedError, IdempotencyKeyReusedError } from './saga-errors';

const mysql = (errno: number, code: string) => Object.assign(new Error(code), { errno, code });

describe('dispositions: every error the saga meets says what to do with it', () => {
  it.each([
    [new InvalidEventError('not_json', 'x'), 'dead-letter'],
    [new RejectedRowError(mysql(1644, 'ER_SIGNAL_EXCEPTION')), 'dead-letter'],
    [new IdempotencyKeyReusedError(['a'], ['b']), 'dead-letter'],
    [new LockUnavailableError(['a'], 3), 'fallback'],
    [new StaleFenceError('a', '1'), 'lost-race'],
    [new IdempotencyKeyRaceError(['e']), 'lost-race'],
    [new LockLostError(['a']), 'lost-race'],
    [new BatchAbandonedError([]), 'abandon'],
    [new BatchRevokedError(undefined), 'abandon'],
    [mysql(1213, 'ER_LOCK_DEADLOCK'), 'retry'],
    [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'retry'],
  ])('%s → %s', (error, disposition) => {
    expect(dispositionOf(error)).toBe(disposition);
  });

  it('the breaker counts only the stores failing, never a lost race or a bad message', () => {
    expect(isStoreFailure(mysql(1213, 'ER_LOCK_DEADLOCK'))).toBe(true);
    expect(isStoreFailure(new StaleFenceError('a', '1'))).toBe(false);
    expect(isStoreFailure(new RejectedRowError(mysql(1406, 'ER_DATA_TOO_LONG')))).toBe(false);
    expect(isStoreFailure(new BatchAbandonedError([]))).toBe(false);
  });

  it('the repository turns only MySQL data errors into RejectedRowError, keeping their code', () => {
    const rejected = new RejectedRowError(mysql(1406, 'ER_DATA_TOO_LONG'));
    expect(rejected.code).toBe('ER_DATA_TOO_LONG');
    expect(rejected.message).toBe('ER_DATA_TOO_LONG');
  });
});
