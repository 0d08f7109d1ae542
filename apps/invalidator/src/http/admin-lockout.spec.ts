import { AdminLockout } from './admin-lockout';

describe(AdminLockout.name, () => {
  let now: number;
  let sut: AdminLockout;

  beforeEach(() => {
    now = 1_000_000;
    sut = new AdminLockout({ ADMIN_LOCKOUT_ATTEMPTS: 3, ADMIN_LOCKOUT_WINDOW_MS: 60000 });
    sut.now = () => now;
  });

  it('locks a client out after the allowed bad tokens, until its window ends', () => {
    for (let i = 0; i < 2; i++) sut.recordFailure('10.0.0.1');
    expect(sut.retryAfterSeconds('10.0.0.1')).toBe(0);
    sut.recordFailure('10.0.0.1');
    expect(sut.retryAfterSeconds('10.0.0.1')).toBe(60);
    now += 45_500;
    expect(sut.retryAfterSeconds('10.0.0.1')).toBe(15);
    now += 14_500;
    expect(sut.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('counts each client on its own', () => {
    for (let i = 0; i < 3; i++) sut.recordFailure('10.0.0.1');
    expect(sut.retryAfterSeconds('10.0.0.2')).toBe(0);
  });

  it('a new window starts fresh once the old one has passed', () => {
    for (let i = 0; i < 2; i++) sut.recordFailure('10.0.0.1');
    now += 60_000;
    for (let i = 0; i < 2; i++) sut.recordFailure('10.0.0.1');
    expect(sut.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('remembers a bounded number of clients', () => {
    for (let i = 0; i < 10_050; i++) sut.recordFailure(`client-${i}`);
    expect((sut as unknown as { windows: Map<string, unknown> }).windows.size).toBe(10_000);
  });
});
