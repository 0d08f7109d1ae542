import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from './config.schema';

const file = (json: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'cdc-')), 'mapping.json');
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
};

describe('CDC_MAPPING_FILE', () => {
  it('is optional; snapshots are skipped by default', () => {
    const config = parseConfig({});
    expect(config.CDC_MAPPING_FILE).toBeUndefined();
    expect(config.CDC_SNAPSHOT_EVENTS).toBe('skip');
  });

  it('reads and validates the mapping', () => {
    const mapping = { topics: ['t'], tables: { 'a.b': { event: 'CategoryUpdated', id: 'id' } } };
    expect(parseConfig({ CDC_MAPPING_FILE: file(mapping) }).CDC_MAPPING_FILE).toEqual(mapping);
  });

  it('refuses a bad entry, naming it, and a file that is not JSON or missing', () => {
    const bad = { topics: ['t'], tables: { 'x.y': { event: 'Nope', id: 'id' } } };
    expect(() => parseConfig({ CDC_MAPPING_FILE: file(bad) })).toThrow(
      /CDC_MAPPING_FILE: .*invalid CDC mapping: tables\["x\.y"\]\.event/,
    );
    expect(() => parseConfig({ CDC_MAPPING_FILE: file('{') })).toThrow(/CDC_MAPPING_FILE: /);
    expect(() => parseConfig({ CDC_MAPPING_FILE: '/nonexistent.json' })).toThrow(
      /CDC_MAPPING_FILE: \/nonexistent.json/,
    );
    expect(() => parseConfig({ CDC_SNAPSHOT_EVENTS: 'maybe' })).toThrow(/CDC_SNAPSHOT_EVENTS/);
  });
});
