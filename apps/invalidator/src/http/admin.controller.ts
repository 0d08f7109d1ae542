import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Post,
  UnprocessableEntityException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { idempotencyKey, manualBumpRequest } from '@invalidator/contracts';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { IdempotencyKeyReusedError, ManualBump, ManualBumpResult } from '@invalidator/invalidation';
import { AdminOnly } from './admin-guard';

/** Manual atomic bumps through the saga. Off (404) unless ADMIN_TOKEN is set: never open. */
@Controller('admin')
export class AdminController {
  constructor(
    private readonly manualBump: ManualBump,
    private readonly metrics: InvalidatorMetrics,
  ) {}

  @Post('versions/bump')
  @HttpCode(200)
  @AdminOnly('bump')
  async bump(
    @Headers('idempotency-key') presentedKey: string | undefined,
    @Body() body: unknown,
  ): Promise<ManualBumpResult> {
    const request = manualBumpRequest.safeParse(body);
    if (!request.success) {
      this.metrics.countAdminAccess('bump', 'bad_request');
      throw new BadRequestException(
        request.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
      );
    }
    const key = idempotencyKey.safeParse(presentedKey);
    if (presentedKey !== undefined && !key.success) {
      this.metrics.countAdminAccess('bump', 'bad_request');
      throw new BadRequestException([`Idempotency-Key: ${key.error.issues[0].message}`]);
    }
    this.metrics.countAdminAccess('bump', 'ok');
    try {
      // Without a key of the caller's, one per request: the saga's own retries still bump once.
      return await this.manualBump.execute({
        dataTypes: request.data.types,
        actor: 'admin',
        idempotencyKey: key.data ?? randomUUID(),
      });
    } catch (error) {
      if (error instanceof IdempotencyKeyReusedError)
        throw new UnprocessableEntityException(error.message);
      throw error;
    }
  }
}
