import { LocalLockout } from './admin-lockout';

describe(LocalLockout.name, () => {
  let now: number;
  let sut: LocalLockout;

  beforeEach(() => {
    now = 1_000_000;
    sut = new LocalLockout(3, 60000, () => now);
  });

  it('locks a client out once its attempts are taken, until its window ends', () => {
    for (let i = 0; i < 3; i++) expect(sut.take('10.0.0.1')).toBe(0);
    expect(sut.take('10.0.0.1')).toBe(60000);
    now += 45_500;
    expect(sut.take('10.0.0.1')).toBe(14_500);
    now += 14_500;
    expect(sut.take('10.0.0.1')).toBe(0);
  });

  it('an attempt given back (a right token) does not count', () => {
    for (let i = 0; i < 5; i++) {
      expect(sut.take('10.0.0.1')).toBe(0);
      sut.giveBack('10.0.0.1');
    }
    expect(sut.take('10.0.0.1')).toBe(0);
  });

  it('counts each client on its own', () => {
    for (let i = 0; i < 3; i++) sut.take('10.0.0.1');
    expect(sut.take('10.0.0.2')).toBe(0);
  });

  it('a new window starts fresh once the old one has passed', () => {
    for (let i = 0; i < 2; i++) sut.take('10.0.0.1');
    now += 60_000;
    for (let i = 0; i < 3; i++) expect(sut.take('10.0.0.1')).toBe(0);
  });

  it('remembers a bounded number of clients', () => {
    for (let i = 0; i < 10_050; i++) sut.take(`client-${i}`);
    expect((sut as unknown as { windows: Map<string, unknown> }).windows.size).toBe(10_000);
  });
});
