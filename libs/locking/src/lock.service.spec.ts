import Redis from 'ioredis';
import { AppConfig, parseConfig } from '@invalidator/config';
import { backoffDelay } from './backoff';
import { LockUnavailableError } from './errors';
import { FenceTokenRepository } from './fence-token.repository';
import { LockService } from './lock.service';

/** A Redis stand-in on which every lock is already held by someone else. */
function lockedRedis() {
  const calls: number[] = [];
  const client = {
    defineCommand(name: string) {
      (client as unknown as Record<string, unknown>)[name] = async () => {
        if (name === 'acquireLock') calls.push(Date.now());
        return 0;
      };
    },
  };
  return { client: client as unknown as Redis, calls };
}

describe(LockService.name, () => {
  const config: AppConfig = parseConfig({ LOCK_RETRY_ATTEMPTS: '3', LOCK_RETRY_DELAY_MS: '100' });
  const fences = { next: jest.fn(async () => 1n) } as unknown as FenceTokenRepository;

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('retries on the configured exponential schedule (100/200/400 ms) then reports the lock unavailable', async () => {
    jest.useFakeTimers({ now: 0 });
    jest.spyOn(Math, 'random').mockReturnValue(0.5); // the middle of the jitter band: no jitter
    const { client, calls } = lockedRedis();
    const sut = new LockService(client, config, fences);

    const outcome = sut.acquire(['products', 'global']).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([0]);
    await jest.advanceTimersByTimeAsync(99);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([0, 100]);
    await jest.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([0, 100, 300]);
    await jest.advanceTimersByTimeAsync(400);
    expect(calls).toEqual([0, 100, 300, 700]);

    const error = await outcome;
    expect(error).toBeInstanceOf(LockUnavailableError);
    expect((error as LockUnavailableError).dataTypes).toEqual(['global', 'products']);
    expect((error as LockUnavailableError).attempts).toBe(4);
    expect(fences.next).not.toHaveBeenCalled();
  });

  it('jitters each delay within a quarter of its nominal value', () => {
    expect(backoffDelay(0, 100, 5000, () => 0)).toBe(75);
    expect(backoffDelay(0, 100, 5000, () => 0.999)).toBe(125);
    expect(backoffDelay(2, 100, 5000, () => 0.5)).toBe(400);
    expect(backoffDelay(10, 100, 5000, () => 0.5)).toBe(5000);
  });
});
