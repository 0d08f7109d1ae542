import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, PLAN_TABLE } from './invalidation-plan';

/** The cells of README.md's plan table, one row per event: its backticked names in each. */
function readmeTable(): Map<string, string[][]> {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  const lines = readme.slice(readme.indexOf('| event ')).split('\n').slice(2);
  const rows = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith('|')),
  );
  return new Map(
    rows.map((line) => {
      const [event, ...cells] = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return [event, cells.map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]))];
    }),
  );
}

describe('the plan table', () => {
  it("README.md's table says what PLAN_TABLE does: the same events, versions and tags", () => {
    const expected = new Map(
      EVENT_TYPES.map((type) => {
        const row = PLAN_TABLE[type];
        const idTags = Object.keys(row.ids).map((kind) => `${kind}:{}`);
        return [type, [[...row.dataTypes], [...row.tags, ...idTags].sort()]];
      }),
    );
    const readme = new Map(
      [...readmeTable()].map(([event, [versions, tags]]) => [
        event,
        // A placeholder names a field (`{productId}`) or each of a list (`{c}`): its kind counts.
        [versions, tags.map((tag) => tag.replace(/\{[^}]*\}/, '{}')).sort()],
      ]),
    );
    expect(readme).toEqual(expected);
  });
});
