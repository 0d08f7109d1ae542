import { parseConfig } from './config.schema';

describe('HTTP_TRUST_PROXY', () => {
  const trust = (value?: string) => parseConfig({ HTTP_TRUST_PROXY: value }).HTTP_TRUST_PROXY;

  it('trusts no proxy by default: the socket peer is the client', () => {
    expect(trust()).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
  });

  it('takes Express trust proxy values: true, a hop count, or addresses, subnets and range names', () => {
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7,::1, fd00::/8,loopback,uniquelocal')).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
      'fd00::/8',
      'loopback',
      'uniquelocal',
    ]);
  });

  it('a value Express would not take stops start-up naming the setting and the bad entries', () => {
    for (const bad of [
      'yes',
      'proxy.internal',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.1,',
      '101',
      '1.5',
    ])
      expect(() => trust(bad)).toThrow(/HTTP_TRUST_PROXY: must be false, true, a hop count/);
    expect(() => trust('10.0.0.1, lb.internal')).toThrow(/not "lb.internal"$/m);
  });
});
