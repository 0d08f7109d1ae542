export { APP_CONFIG, ConfigModule } from './config.module';
export { ConfigError, configSchema, parseConfig } from './config.schema';
export type { AppConfig } from './config.schema';
