import { BatchRevokedError, IncomingBatch } from './incoming-batch';
import { BatchLease } from './batch-lease';
import { BatchAbandonedError } from './saga-errors';

describe(BatchLease.name, () => {
  afterEach(() => jest.useRealTimers());

  function batchWith(heartbeat: () => Promise<void>, active = () => true): IncomingBatch {
    return { messages: [], heartbeat: jest.fn(heartbeat), isActive: active, commit: jest.fn() };
  }

  it('heartbeats on its own timer while a saga step runs, until it ends', async () => {
    jest.useFakeTimers();
    const batch = batchWith(async () => undefined);
    const sut = new BatchLease(batch, () => ['e1'], 1000, jest.fn());
    await jest.advanceTimersByTimeAsync(3500);
    expect(batch.heartbeat).toHaveBeenCalledTimes(3);
    sut.end();
    await jest.advanceTimersByTimeAsync(5000);
    expect(batch.heartbeat).toHaveBeenCalledTimes(3);
  });

  it('a rebalance seen by a heartbeat abandons the batch at the next check', async () => {
    jest.useFakeTimers();
    const batch = batchWith(async () => {
      throw new BatchRevokedError(new Error('REBALANCE_IN_PROGRESS'));
    });
    const onError = jest.fn();
    const sut = new BatchLease(batch, () => ['e1', 'e2'], 1000, onError);
    expect(() => sut.check()).not.toThrow();
    await jest.advanceTimersByTimeAsync(1000);
    expect(() => sut.check()).toThrow(BatchAbandonedError);
    expect(onError).not.toHaveBeenCalled();
    sut.end();
  });

  it('any other heartbeat error is surfaced, not swallowed, and does not abandon the batch', async () => {
    jest.useFakeTimers();
    const failure = new Error('Connection timeout');
    const onError = jest.fn();
    const sut = new BatchLease(
      batchWith(async () => Promise.reject(failure)),
      () => [],
      1000,
      onError,
    );
    await jest.advanceTimersByTimeAsync(1000);
    expect(onError).toHaveBeenCalledWith(failure);
    expect(() => sut.check()).not.toThrow();
    sut.end();
  });

  it('a batch revoked or stopping (not active) stops the saga', () => {
    const sut = new BatchLease(
      batchWith(
        async () => undefined,
        () => false,
      ),
      () => ['e1'],
      1000,
      jest.fn(),
    );
    expect(() => sut.check()).toThrow(BatchAbandonedError);
    sut.end();
  });
});
