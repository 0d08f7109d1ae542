import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createConnection } from 'mysql2/promise';
import { shopSchema } from './catalog.repository';
import { ShopConfig, parseShopConfig, shopMysqlOptions } from './shop-config';
import { ShopModule } from './shop.module';

/** The shop's database and tables, created if missing (an example: no migration framework). */
async function prepareDatabase(config: ShopConfig): Promise<void> {
  const url = new URL(config.SHOP_MYSQL_URL);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/';
  const server = await createConnection(shopMysqlOptions(config, url.toString()));
  try {
    await server.query(`CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '``')}\``);
    await server.changeUser({ database });
    for (const statement of shopSchema(config.SHOP_EVENTS)) await server.query(statement);
  } finally {
    await server.end();
  }
}

async function bootstrap(): Promise<void> {
  let config: ShopConfig;
  try {
    config = parseShopConfig(process.env);
  } catch (error) {
    process.stderr.write(`example-shop: ${(error as Error).message}\n`);
    process.exit(2);
  }
  await prepareDatabase(config);
  const app = await NestFactory.create(ShopModule.forRoot(config), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(config.SHOP_HTTP_PORT, '127.0.0.1');
  process.stdout.write(`example-shop listening on ${config.SHOP_HTTP_PORT}\n`);
}

void bootstrap();
