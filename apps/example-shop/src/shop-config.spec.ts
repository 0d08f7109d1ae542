import { parseShopConfig } from './shop-config';

describe('SHOP_EVENTS', () => {
  it('is outbox by default, cdc when asked', () => {
    expect(parseShopConfig({}).SHOP_EVENTS).toBe('outbox');
    expect(parseShopConfig({ SHOP_EVENTS: 'cdc' }).SHOP_EVENTS).toBe('cdc');
  });

  it('refuses any other value, naming the setting', () => {
    expect(() => parseShopConfig({ SHOP_EVENTS: 'binlog' })).toThrow(/SHOP_EVENTS: .*"cdc"/);
  });
});
