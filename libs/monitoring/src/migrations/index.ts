import { Incidents1732500000000 } from './1732500000000-incidents';

export const MONITORING_MIGRATIONS = [Incidents1732500000000];
