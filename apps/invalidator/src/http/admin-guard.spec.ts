import { Reflector, type HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '@invalidator/config';
import type { LockoutCounter } from '@invalidator/locking';
import type { InvalidatorMetrics } from '@invalidator/monitoring';
import { AdminTokenGuard } from './admin-guard';
import { AdminLockout, LOCKOUT_LOG } from './admin-lockout';

const TOKEN = 'unit-admin-token-0123456789';

function setup(counter: Pick<LockoutCounter, 'take' | 'giveBack'>) {
  const counted: string[] = [];
  const warned: string[] = [];
  const config = {
    ADMIN_TOKEN: TOKEN,
    ADMIN_LOCKOUT_ATTEMPTS: 3,
    ADMIN_LOCKOUT_WINDOW_MS: 60000,
  } as AppConfig;
  const metrics = {
    countAdminAccess: (route: string, reason: string) => counted.push(`${route}:${reason}`),
  } as unknown as InvalidatorMetrics;
  // Express's compiled `trust proxy` of HTTP_TRUST_PROXY=loopback, in short.
  const trustLoopback = (address: string) => address.startsWith('127.');
  const adapterHost = {
    httpAdapter: { getInstance: () => ({ get: () => trustLoopback }) },
  } as unknown as HttpAdapterHost;
  const logger = {
    warn: (_: unknown, msg: string) => warned.push(msg),
    info: () => undefined,
  } as unknown as PinoLogger;
  const lockout = new AdminLockout(config, counter as LockoutCounter, logger);
  const sut = new AdminTokenGuard(lockout, metrics, new Reflector(), adapterHost, config);
  return { sut, counted, warned };
}

const from = (remoteAddress: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  }) as unknown as IncomingMessage;

describe(AdminTokenGuard.name, () => {
  it('takes an attempt before judging, gives it back for the right token, and counts each refusal', async () => {
    const calls: string[] = [];
    const { sut, counted } = setup({
      take: (client) => (calls.push(`take ${client}`), Promise.resolve(0)),
      giveBack: (client) => (calls.push(`giveBack ${client}`), Promise.resolve()),
    });
    expect(await sut.judge('bump', from('10.1.1.1'), TOKEN)).toEqual({ admitted: true });
    expect(await sut.judge('dashboard', from('10.1.1.1'), 'wrong')).toEqual({
      admitted: false,
      reason: 'wrong_token',
    });
    expect(await sut.judge('dashboard', from('10.1.1.1'), undefined)).toMatchObject({
      reason: 'missing_token',
    });
    expect(calls).toEqual(['take 10.1.1.1', 'giveBack 10.1.1.1', 'take 10.1.1.1', 'take 10.1.1.1']);
    expect(counted).toEqual(['dashboard:wrong_token', 'dashboard:missing_token']);
  });

  it('a client whose window is used up is refused before its token is looked at', async () => {
    const { sut, counted } = setup({ take: () => Promise.resolve(12_001), giveBack: jest.fn() });
    expect(await sut.judge('bump', from('10.1.1.1'), TOKEN)).toEqual({
      admitted: false,
      reason: 'locked_out',
      retryAfterSeconds: 13,
    });
    expect(counted).toEqual(['bump:locked_out']);
  });

  it('the client is the nearest address no trusted proxy vouches for', async () => {
    const clients: string[] = [];
    const { sut } = setup({
      take: (client) => (clients.push(client), Promise.resolve(0)),
      giveBack: () => Promise.resolve(),
    });
    await sut.judge('bump', from('127.0.0.1', '203.0.113.9, 127.0.0.5'), TOKEN);
    await sut.judge('bump', from('10.0.0.2', '203.0.113.9'), TOKEN);
    await sut.judge('bump', from('127.0.0.1'), TOKEN);
    await sut.judge('bump', from('127.0.0.1', '127.0.0.2, 127.0.0.3'), TOKEN);
    expect(clients).toEqual(['203.0.113.9', '10.0.0.2', '127.0.0.1', '127.0.0.2']);
  });

  it('while Redis cannot count, this instance counts alone and still locks out, and says so once', async () => {
    const { sut, warned } = setup({
      take: () => Promise.reject(new Error('Connection is closed.')),
      giveBack: () => Promise.reject(new Error('Connection is closed.')),
    });
    for (let i = 0; i < 5; i++)
      expect((await sut.judge('bump', from('10.1.1.1'), TOKEN)).admitted).toBe(true);
    for (let i = 0; i < 3; i++)
      expect(await sut.judge('bump', from('10.1.1.1'), 'wrong')).toMatchObject({
        reason: 'wrong_token',
      });
    expect(await sut.judge('bump', from('10.1.1.1'), TOKEN)).toMatchObject({
      reason: 'locked_out',
    });
    expect(warned).toEqual([LOCKOUT_LOG.local]);
  });
});
