/**
 * Judges a soak history again from its file (`npx ts-node -r tsconfig-paths/register
 * --transpile-only test/soak/check.ts .stack/soak-history.jsonl`): the same table and line.
 */
import { join } from 'node:path';
import { checkHistory, formatFigures } from './history';

const file = process.argv[2] ?? join(__dirname, '..', '..', '.stack', 'soak-history.jsonl');
checkHistory(file)
  .then((figures) => console.log(formatFigures(figures)))
  .catch((error) => {
    console.error(error);
    process.exit(2);
  });
