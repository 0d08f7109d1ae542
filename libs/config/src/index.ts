export { APP_CONFIG, ConfigModule } from './config.module';
export {
  ConfigError,
  MAX_LOCK_TTL_MS,
  SECRET_SETTINGS,
  configOrExit,
  parseConfig,
  secretValues,
} from './config.schema';
export type { AppConfig } from './config.schema';
export type { TrustProxy } from './trust-proxy';
export { INSTANCE_ID, withTimeout } from './runtime';
export * from './store-refusal';
